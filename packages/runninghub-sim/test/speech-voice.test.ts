import { describe, expect, it } from 'vitest';
import { DEFAULT_SIM_OPTIONS } from '../src/options.js';
import { Simulator } from '../src/simulator.js';
import { espeakArgs } from '../src/synth/espeak.js';
import type { AudioRenderer } from '../src/synth/renderer.js';
import type { SpeechRequest } from '../src/synth/request.js';
import { voiceProfile } from '../src/synth/voice.js';
import { T0, validBody, validSpeech } from './helpers.js';

/**
 * What each task is rendered from, as the simulator hands it to its renderer: recorded here,
 * since the tone (the in-process synthesizer) does not depend on the voice.
 */
function recordingSimulator() {
  const rendered = new Map<string, SpeechRequest>();
  const renderer = {
    format: 'wav',
    prefetch: (speech: SpeechRequest, taskId: string) => rendered.set(taskId, speech),
    clearBacklog: () => undefined,
  } as unknown as AudioRenderer;
  const clock = { now: T0 };
  const sim = new Simulator(
    {
      ...DEFAULT_SIM_OPTIONS,
      maxInFlight: 50,
      durations: { baseMs: 100, perCharMs: 0, sigma: 0 },
      now: () => clock.now,
    },
    renderer,
  );
  const auth = 'Bearer sim-test-key-0001';
  const taskOf = (reply: { body: unknown }) => {
    const taskId = (reply.body as { taskId: string }).taskId;
    const speech = rendered.get(taskId);
    if (!speech) throw new Error(`task ${taskId} was not rendered: ${JSON.stringify(reply.body)}`);
    return speech;
  };
  return {
    clock,
    clone: (over: Record<string, unknown>) => taskOf(sim.submit(auth, validBody(over))),
    line: (over: Record<string, unknown>) =>
      taskOf(sim.speech('speech-2.8-hd', auth, validSpeech(over))),
  };
}

describe('the voice of a speech line', () => {
  it("is its clone's: every line of a voice sounds like its preview", () => {
    const sim = recordingSimulator();
    const preview = sim.clone({
      custom_voice_id: 'voiceT0001',
      audio: 'https://example.com/narrator.wav',
      language_boost: 'French',
    });
    sim.clone({ custom_voice_id: 'voiceT0002', audio: 'https://example.com/villain.wav' });
    sim.clock.now += 1_000;
    const first = sim.line({ voice_id: 'voiceT0001', text: 'Bonjour.' });
    const second = sim.line({ voice_id: 'voiceT0001', text: 'Au revoir.' });
    const other = sim.line({ voice_id: 'voiceT0002', text: 'Bonjour.' });
    expect(first).toMatchObject({ voice: preview.voice, language: 'French', text: 'Bonjour.' });
    expect(second.voice).toBe(preview.voice);
    expect(voiceProfile(first.voice)).toEqual(voiceProfile(preview.voice));
    expect(other.voice).toBe('https://example.com/villain.wav');
    expect(espeakArgs(first, voiceProfile(first.voice))).not.toEqual(
      espeakArgs(other, voiceProfile(other.voice)),
    );
  });

  it("is a system voice's own, the same on every line", () => {
    const sim = recordingSimulator();
    const a = sim.line({ voice_id: 'Calm_Woman', text: 'One.' });
    const b = sim.line({ voice_id: 'Calm_Woman', text: 'Two.' });
    const c = sim.line({ voice_id: 'Casual_Guy', text: 'One.' });
    expect(a).toMatchObject({ voice: 'system:Calm_Woman', language: null });
    expect(b.voice).toBe(a.voice);
    expect(c.voice).toBe('system:Casual_Guy');
  });

  it('follows the line: speed, pitch, volume and the pronunciation dictionary', () => {
    const sim = recordingSimulator();
    expect(
      sim.line({
        text: 'Call me ASAP, ok? [[sim:duration=5]]',
        speed: 1.5,
        pitch: -4,
        volume: 2,
        emotion: 'happy',
        pronunciation_dict: ['ASAP/as soon as possible', 'ok/okay'],
      }),
    ).toEqual({
      text: 'Call me as soon as possible, okay? ',
      voice: 'system:Wise_Woman',
      language: null,
      speed: 1.5,
      pitch: -4,
      volume: 2,
      normalize: false,
      format: 'wav',
    });
    expect(sim.line({ text: 'Plain.' })).toMatchObject({ speed: 1, pitch: 0, volume: 1 });
  });
});
