import { describe, expect, it } from 'vitest';
import { canonicalRequestHash } from '../src/index.js';

const VOICE = '019abcde-0002-7def-8abc-0123456789ab';
const clone = {
  audio: 'https://example.com/ref.wav',
  custom_voice_id: 'narrator01',
  text: 'Hello.',
  need_noise_reduction: false,
  need_volume_normalization: false,
  model: 'speech-02-hd' as const,
};

describe('canonicalRequestHash', () => {
  it('is the same for the same speech request, whatever the key order or a filled-in default', () => {
    const a = canonicalRequestHash({
      kind: 'speech',
      voiceId: VOICE,
      request: { model: 'speech-02-hd', text: 'Hi.', speed: 1.2 },
    });
    const b = canonicalRequestHash({
      kind: 'speech',
      voiceId: VOICE,
      request: { speed: 1.2, english_normalization: false, text: 'Hi.', model: 'speech-02-hd' },
    });
    expect(a).toMatch(/^[0-9a-f]{64}$/);
    expect(b).toBe(a);
  });

  it('differs with the voice, the model, the text or any setting', () => {
    const base = { model: 'speech-02-hd' as const, text: 'Hi.' };
    const hashes = [
      canonicalRequestHash({ kind: 'speech', voiceId: VOICE, request: base }),
      canonicalRequestHash({
        kind: 'speech',
        voiceId: VOICE.replace('0002', '0003'),
        request: base,
      }),
      canonicalRequestHash({
        kind: 'speech',
        voiceId: null,
        request: { ...base, system_voice: 'Wise_Woman' },
      }),
      canonicalRequestHash({
        kind: 'speech',
        voiceId: null,
        request: { ...base, system_voice: 'Deep_Voice_Man' },
      }),
      canonicalRequestHash({
        kind: 'speech',
        voiceId: VOICE,
        request: { ...base, model: 'speech-02-turbo' },
      }),
      canonicalRequestHash({ kind: 'speech', voiceId: VOICE, request: { ...base, text: 'Hi!' } }),
      canonicalRequestHash({ kind: 'speech', voiceId: VOICE, request: { ...base, pitch: 1 } }),
      canonicalRequestHash({
        kind: 'speech',
        voiceId: VOICE,
        request: { ...base, emotion: 'happy' },
      }),
    ];
    expect(new Set(hashes).size).toBe(hashes.length);
  });

  it("leaves a one-off clone's custom_voice_id out, and keeps its reference and settings in", () => {
    const hash = canonicalRequestHash({ kind: 'voice_clone', voiceId: null, request: clone });
    expect(
      canonicalRequestHash({
        kind: 'voice_clone',
        voiceId: null,
        request: { ...clone, custom_voice_id: 'another01' },
      }),
    ).toBe(hash);
    for (const changed of [
      { ...clone, audio: 'https://example.com/other.wav' },
      { ...clone, need_noise_reduction: true },
      { ...clone, accuracy: 0.8 },
      { ...clone, text: 'Hello!' },
    ]) {
      expect(
        canonicalRequestHash({ kind: 'voice_clone', voiceId: null, request: changed }),
      ).not.toBe(hash);
    }
    // A speech line with the same text is another request.
    expect(
      canonicalRequestHash({
        kind: 'speech',
        voiceId: null,
        request: { model: 'speech-02-hd', text: 'Hello.' },
      }),
    ).not.toBe(hash);
  });
});
