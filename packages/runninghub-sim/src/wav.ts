import { hashSeed, mulberry32 } from './prng.js';

export const WAV_SAMPLE_RATE = 16_000;
/** Roughly the pace of speech, so the result's length follows the text like a real one. */
export const WAV_MS_PER_CHAR = 60;
export const WAV_MIN_MS = 400;
// Bounds the size of one response (about 3.8 MB) whatever the text length.
export const WAV_MAX_MS = 120_000;

export function wavDurationMs(textLength: number): number {
  return Math.min(WAV_MAX_MS, Math.max(WAV_MIN_MS, textLength * WAV_MS_PER_CHAR));
}

// A pentatonic scale keeps the pattern pleasant when someone actually listens to it.
const PITCHES_HZ = [220, 247, 277, 330, 370, 440, 494];
const SEGMENT_MS = 150;

/**
 * A 16-bit PCM mono WAV of tone "syllables", deterministic per task id and as long as
 * wavDurationMs(textLength) at normal speed. The fallback when no speech synthesizer is
 * installed: cheap enough to render on request, so nothing per task is kept but the length.
 */
export function renderWav(taskId: string, textLength: number, speed = 1): Buffer {
  const durationMs = Math.min(WAV_MAX_MS, Math.max(WAV_MIN_MS, wavDurationMs(textLength) / speed));
  const samples = Math.round((durationMs * WAV_SAMPLE_RATE) / 1000);
  const dataBytes = samples * 2;
  const out = Buffer.alloc(44 + dataBytes);
  writeHeader(out, dataBytes, WAV_SAMPLE_RATE);
  const random = mulberry32(hashSeed(taskId));
  const segment = Math.round((SEGMENT_MS * WAV_SAMPLE_RATE) / 1000);
  let freq = 0;
  let phase = 0;
  for (let i = 0; i < samples; i++) {
    const pos = i % segment;
    if (pos === 0) {
      // One segment in five is a pause, like the gaps between words.
      freq = random() < 0.2 ? 0 : (PITCHES_HZ[Math.floor(random() * PITCHES_HZ.length)] ?? 440);
    }
    const envelope = Math.sin((Math.PI * pos) / segment);
    phase += (2 * Math.PI * freq) / WAV_SAMPLE_RATE;
    const value = freq === 0 ? 0 : Math.sin(phase) * envelope * 0.3;
    out.writeInt16LE(Math.round(value * 32767), 44 + i * 2);
  }
  return out;
}

/** Mono 16-bit PCM: what every synthesizer here produces and every encoder takes. */
export interface Pcm {
  sampleRate: number;
  samples: Int16Array;
}

export function encodeWav(pcm: Pcm): Buffer {
  const dataBytes = pcm.samples.length * 2;
  const out = Buffer.alloc(44 + dataBytes);
  writeHeader(out, dataBytes, pcm.sampleRate);
  // One copy instead of a write per sample: typed arrays are little-endian like WAV on every
  // platform Node runs on (x64, arm64).
  out.set(new Uint8Array(pcm.samples.buffer, pcm.samples.byteOffset, dataBytes), 44);
  return out;
}

/**
 * The PCM of a mono 16-bit WAV. A WAV written to a pipe (espeak-ng --stdout) cannot know its
 * length and states a huge one: the data runs to the end of what was written.
 */
export function decodeWav(bytes: Buffer): Pcm {
  if (bytes.toString('ascii', 0, 4) !== 'RIFF' || bytes.toString('ascii', 8, 12) !== 'WAVE') {
    throw new Error('not a RIFF/WAVE file');
  }
  let offset = 12;
  let sampleRate = 0;
  while (offset + 8 <= bytes.length) {
    const id = bytes.toString('ascii', offset, offset + 4);
    const size = bytes.readUInt32LE(offset + 4);
    const body = offset + 8;
    if (id === 'fmt ') {
      const format = bytes.readUInt16LE(body);
      const channels = bytes.readUInt16LE(body + 2);
      const bits = bytes.readUInt16LE(body + 14);
      if (format !== 1 || channels !== 1 || bits !== 16) {
        throw new Error(`unsupported WAV: format ${format}, ${channels} channels, ${bits} bits`);
      }
      sampleRate = bytes.readUInt32LE(body + 4);
    } else if (id === 'data') {
      if (sampleRate === 0) throw new Error('WAV data before its fmt chunk');
      const end = Math.min(bytes.length, body + size);
      const samples = new Int16Array(Math.floor((end - body) / 2));
      new Uint8Array(samples.buffer).set(bytes.subarray(body, body + samples.length * 2));
      return { sampleRate, samples };
    }
    offset = body + size + (size % 2);
  }
  throw new Error('WAV without a data chunk');
}

function writeHeader(out: Buffer, dataBytes: number, sampleRate: number): void {
  out.write('RIFF', 0, 'ascii');
  out.writeUInt32LE(36 + dataBytes, 4);
  out.write('WAVE', 8, 'ascii');
  out.write('fmt ', 12, 'ascii');
  out.writeUInt32LE(16, 16); // PCM fmt chunk size
  out.writeUInt16LE(1, 20); // PCM
  out.writeUInt16LE(1, 22); // mono
  out.writeUInt32LE(sampleRate, 24);
  out.writeUInt32LE(sampleRate * 2, 28); // byte rate
  out.writeUInt16LE(2, 32); // block align
  out.writeUInt16LE(16, 34); // bits per sample
  out.write('data', 36, 'ascii');
  out.writeUInt32LE(dataBytes, 40);
}
