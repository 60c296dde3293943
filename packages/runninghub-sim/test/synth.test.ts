import { mkdtemp, readdir, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { EspeakSynthesizer, espeakArgs } from '../src/synth/espeak.js';
import { probeCommand } from '../src/synth/process.js';
import { type AudioOptions, AudioRenderer } from '../src/synth/renderer.js';
import { SPEECH_DEFAULTS, type SpeechRequest } from '../src/synth/request.js';
import { toSsml } from '../src/synth/text.js';
import { voiceProfile } from '../src/synth/voice.js';
import { decodeWav, type Pcm, renderWav } from '../src/wav.js';
import { isSpeechLike, speechMeasures } from './speech-audio.js';

/**
 * The synthesizer itself, with the real espeak-ng and lame. No skipping when they are missing:
 * CI installs them (.ci/run), and a machine without them fails here saying how to install them.
 */

const SHORT = 'The rabbit was late.'; // 20 characters
const LONG =
  'Alice was beginning to get very tired of sitting by her sister on the bank, and of having nothing to do: once or twice she had peeped into the book her sister was reading, but it had no pictures.';

const speech = (over: Partial<SpeechRequest> = {}): SpeechRequest => ({
  text: LONG,
  voice: 'https://cdn.example.com/voices/narrator.wav',
  language: 'English',
  ...SPEECH_DEFAULTS,
  normalize: false,
  format: 'wav',
  ...over,
});

const seconds = (pcm: Pcm) => pcm.samples.length / pcm.sampleRate;
const peak = (pcm: Pcm) => pcm.samples.reduce((m, s) => Math.max(m, Math.abs(s)), 0);
const espeak = new EspeakSynthesizer();

let dir: string;
beforeAll(async () => {
  const missing = [];
  if ((await probeCommand('espeak-ng')) === null) missing.push('espeak-ng');
  if ((await probeCommand('lame')) === null) missing.push('lame');
  if (missing.length > 0) {
    throw new Error(
      `these tests speak with ${missing.join(' and ')}, which is not installed: apt-get install -y ${missing.join(' ')} (CI does it in .ci/run)`,
    );
  }
  dir = await mkdtemp(join(tmpdir(), 'voxline-synth-'));
});
afterAll(async () => {
  if (dir) await rm(dir, { recursive: true, force: true });
});

const options = (over: Partial<AudioOptions> = {}): AudioOptions => ({
  synth: 'espeak-ng',
  format: 'wav',
  filesDir: dir,
  cacheBytes: 64 * 1024 * 1024,
  concurrency: 2,
  maxBacklog: 100,
  ...over,
});

describe('espeak-ng speech', () => {
  it('lasts as long as its text: 200 characters several times 20', async () => {
    expect(LONG.length).toBeGreaterThanOrEqual(195);
    expect(SHORT.length).toBe(20);
    const long = seconds(await espeak.render(speech()));
    const short = seconds(await espeak.render(speech({ text: SHORT })));
    expect(short).toBeGreaterThan(0.8);
    expect(long / short).toBeGreaterThan(5);
  });

  it('speed 2 about halves a line, 0.5 about doubles it', async () => {
    const normal = seconds(await espeak.render(speech()));
    expect(seconds(await espeak.render(speech({ speed: 2 }))) / normal).toBeGreaterThan(0.4);
    expect(seconds(await espeak.render(speech({ speed: 2 }))) / normal).toBeLessThan(0.62);
    expect(seconds(await espeak.render(speech({ speed: 0.5 }))) / normal).toBeGreaterThan(1.6);
  });

  it('gives one voice the same audio every time and two voices different audio', async () => {
    const a1 = await espeak.render(speech({ voice: 'https://cdn.example.com/a.wav' }));
    const a2 = await espeak.render(speech({ voice: 'https://cdn.example.com/a.wav' }));
    const b = await espeak.render(speech({ voice: 'https://cdn.example.com/b.wav' }));
    expect(Buffer.from(a2.samples.buffer).equals(Buffer.from(a1.samples.buffer))).toBe(true);
    expect(Buffer.from(b.samples.buffer).equals(Buffer.from(a1.samples.buffer))).toBe(false);
    expect(voiceProfile('a')).toEqual(voiceProfile('a'));
    // Across many voices the profiles spread over variants, pitches and paces.
    const profiles = Array.from({ length: 40 }, (_, i) => voiceProfile(`voice-${i}`));
    expect(new Set(profiles.map((p) => p.variant)).size).toBeGreaterThan(12);
    expect(new Set(profiles.map((p) => `${p.variant}/${p.pitch}/${p.wpm}`)).size).toBe(40);
  });

  it('sounds like speech, by short-time energy and zero-crossing rate, and the tone does not', async () => {
    for (const voice of ['v-1', 'v-2', 'v-3', 'v-4', 'v-5', 'v-6']) {
      const pcm = await espeak.render(speech({ voice }));
      expect(isSpeechLike(pcm), `${voice}: ${JSON.stringify(speechMeasures(pcm))}`).toBe(true);
    }
    for (const taskId of ['1', '2', '3']) {
      const tone = decodeWav(renderWav(taskId, LONG.length));
      expect(isSpeechLike(tone), JSON.stringify(speechMeasures(tone))).toBe(false);
    }
  });

  it('applies pitch, volume, normalisation and the language boost', async () => {
    const profile = voiceProfile('x');
    const args = (over: Partial<SpeechRequest>) => espeakArgs(speech(over), profile);
    const flag = (list: string[], name: string) => list[list.indexOf(name) + 1];
    expect(Number(flag(args({ pitch: 6 }), '-p'))).toBeGreaterThan(Number(flag(args({}), '-p')));
    expect(Number(flag(args({ pitch: -12 }), '-p'))).toBeGreaterThanOrEqual(0);
    expect(flag(args({ language: 'French' }), '-v')).toBe(`fr-fr+${profile.variant}`);
    expect(flag(args({ language: 'auto', text: '你好，世界' }), '-v')).toMatch(/^cmn\+/);
    expect(flag(args({ language: null }), '-v')).toMatch(/^en-us\+/);
    const english = await espeak.render(speech({ text: 'Bonjour, comment allez-vous ?' }));
    const french = await espeak.render(
      speech({ text: 'Bonjour, comment allez-vous ?', language: 'French' }),
    );
    expect(Buffer.from(french.samples.buffer).equals(Buffer.from(english.samples.buffer))).toBe(
      false,
    );

    const renderer = await AudioRenderer.start(options({ filesDir: join(dir, 'levels') }), null);
    const level = async (over: Partial<SpeechRequest>) =>
      peak(decodeWav(await renderer.render(speech({ text: SHORT, ...over }), 't')));
    const normal = await level({});
    expect(await level({ volume: 0.5 })).toBeCloseTo(normal / 2, -1);
    expect(await level({ normalize: true, volume: 0.5 })).toBeCloseTo(32767 * 0.891 * 0.5, -2);
    await renderer.close();
  });

  it('voices interjections or pauses for them, and reads other parentheses as text', async () => {
    expect(toSsml('Well (laughs) fine')).toBe(
      '<speak>Well <break time="350ms"/>ha ha ha<break time="350ms"/> fine</speak>',
    );
    expect(toSsml('(sighs) No. (breath)')).toBe(
      '<speak><break time="350ms"/> No. <break time="350ms"/></speak>',
    );
    expect(toSsml('She (as she had hoped) & <they>')).toBe(
      '<speak>She (as she had hoped) &amp; &lt;they&gt;</speak>',
    );
    // A paused interjection is a pause, not the word: shorter than reading it out.
    const paused = seconds(await espeak.render(speech({ text: 'Well (sighs) fine.' })));
    const read = seconds(await espeak.render(speech({ text: 'Well, sighs, fine.' })));
    const plain = seconds(await espeak.render(speech({ text: 'Well fine.' })));
    expect(paused).toBeLessThan(read);
    expect(paused).toBeGreaterThan(plain);
  });
});

describe('the renderer', () => {
  it('caches by request on disk, so a repeated line and the next run render nothing', async () => {
    const filesDir = join(dir, 'cache');
    const first = await AudioRenderer.start(options({ filesDir }), null);
    const a = await first.render(speech(), 'task-1');
    // Another task with the same request: the same audio, from the cache.
    expect((await first.render(speech(), 'task-2')).equals(a)).toBe(true);
    await first.render(speech({ speed: 1.5 }), 'task-3');
    expect(first.stats()).toMatchObject({ rendered: 2, cacheHits: 1 });
    await first.close();

    const next = await AudioRenderer.start(options({ filesDir }), null);
    expect((await next.render(speech(), 'task-9')).equals(a)).toBe(true);
    expect(next.stats()).toMatchObject({ rendered: 0, cacheHits: 1 });
    await next.close();
  });

  it('keeps the cache within its size, dropping the least recently used', async () => {
    const filesDir = join(dir, 'bounded');
    const one = (await AudioRenderer.start(options({ filesDir }), null)).render(speech(), 't');
    const size = (await one).length;
    const renderer = await AudioRenderer.start(
      options({ filesDir: join(dir, 'bounded-2'), cacheBytes: Math.floor(size * 2.5) }),
      null,
    );
    for (const voice of ['a', 'b', 'c', 'd']) await renderer.render(speech({ voice }), 't');
    const files = await readdir(join(dir, 'bounded-2', 'audio'));
    expect(files).toHaveLength(2);
    // 'd' was used last, 'a' first: 'a' is gone and renders again.
    await renderer.render(speech({ voice: 'd' }), 't');
    await renderer.render(speech({ voice: 'a' }), 't');
    expect(renderer.stats()).toMatchObject({ rendered: 5, cacheHits: 1 });
    await renderer.close();
  });

  it('prefetches in a bounded pool and never runs more renders than its concurrency', async () => {
    const renderer = await AudioRenderer.start(
      options({ filesDir: join(dir, 'pool'), concurrency: 2, maxBacklog: 5 }),
      null,
    );
    const lines = Array.from({ length: 12 }, (_, i) => speech({ text: `Line number ${i}.` }));
    for (const line of lines) renderer.prefetch(line, 't');
    expect(renderer.stats()).toMatchObject({ prefetched: 7, prefetchDropped: 5 });
    const audio = await Promise.all(lines.map((line) => renderer.render(line, 't')));
    expect(audio.every((bytes) => decodeWav(bytes).samples.length > 0)).toBe(true);
    // Each line rendered once: the prefetched ones are read back, the dropped ones rendered.
    expect(renderer.stats()).toMatchObject({ rendered: 12, peakRunning: 2 });
    await renderer.close();
  });

  it('encodes MP3 with lame', async () => {
    const renderer = await AudioRenderer.start(
      options({ filesDir: join(dir, 'mp3'), format: 'mp3' }),
      null,
    );
    const mp3 = await renderer.render(speech({ format: 'mp3' }), 't');
    const wav = await renderer.render(speech({ format: 'wav' }), 't');
    // An MPEG audio frame starts with 11 set bits.
    expect(mp3[0]).toBe(0xff);
    expect((mp3[1] ?? 0) & 0xe0).toBe(0xe0);
    expect(mp3.length).toBeLessThan(wav.length / 4);
    await renderer.close();
  });
});
