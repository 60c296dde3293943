import { PATHS, type SpeechModel, speechPath } from '@voxline/runninghub';
import { type SimOptions, type SimulatorHandle, startSimulator } from '../src/index.js';

export const KEY = 'sim-test-key-0001';
export const OTHER_KEY = 'sim-test-key-0002';
export const CONTROL = 'control-token-for-tests';
export const T0 = Date.parse('2026-04-01T00:00:00Z');

let voices = 0;

/** A valid submit body; each call gets its own voice id unless one is given. */
export const validBody = (over: Record<string, unknown> = {}) => ({
  audio: 'https://example.com/ref.wav',
  custom_voice_id: `narrator${++voices}`,
  text: 'Hello from the simulator.',
  need_noise_reduction: false,
  need_volume_normalization: false,
  model: 'speech-02-hd',
  ...over,
});

/** A valid speech body (the model is the path); speaks with a system voice unless told. */
export const validSpeech = (over: Record<string, unknown> = {}) => ({
  text: 'A line of the book.',
  voice_id: 'Wise_Woman',
  enable_base64_output: false,
  english_normalization: false,
  ...over,
});

/**
 * A simulator on a clock the test moves by hand: no waiting for task lifecycles. Callbacks go
 * out when the test calls `sim.flushCallbacks()`.
 */
export async function startWithClock(over: Partial<SimOptions> = {}) {
  const clock = { now: T0 };
  const sim = await startSimulator({
    controlToken: CONTROL,
    durations: { baseMs: 1_000, perCharMs: 10, sigma: 0 },
    now: () => clock.now,
    callbackTimers: false,
    ...over,
  });
  return { sim, clock };
}

export interface Answer {
  status: number;
  headers: Headers;
  text: string;
  json: Record<string, unknown> | null;
}

export async function call(
  sim: SimulatorHandle,
  path: string,
  body: unknown,
  key: string | null = KEY,
): Promise<Answer> {
  const headers: Record<string, string> = { 'content-type': 'application/json' };
  if (key !== null) headers.authorization = `Bearer ${key}`;
  const res = await fetch(`${sim.url}${path}`, {
    method: 'POST',
    headers,
    body: JSON.stringify(body),
  });
  const text = await res.text();
  let json: Record<string, unknown> | null = null;
  try {
    json = JSON.parse(text) as Record<string, unknown>;
  } catch {
    json = null;
  }
  return { status: res.status, headers: res.headers, text, json };
}

export const submit = (
  sim: SimulatorHandle,
  body: unknown = validBody(),
  key: string | null = KEY,
) => call(sim, PATHS.submit, body, key);

export const speak = (
  sim: SimulatorHandle,
  body: unknown = validSpeech(),
  model: SpeechModel = 'speech-02-hd',
  key: string | null = KEY,
) => call(sim, speechPath(model), body, key);

export const query = (sim: SimulatorHandle, taskId: string, key: string | null = KEY) =>
  call(sim, PATHS.query, { taskId }, key);

export interface WavInfo {
  format: number;
  channels: number;
  sampleRate: number;
  byteRate: number;
  blockAlign: number;
  bitsPerSample: number;
  dataBytes: number;
  durationMs: number;
}

/** Reads a RIFF/WAVE header chunk by chunk, checking every size it states. */
export function parseWav(bytes: Buffer): WavInfo {
  if (bytes.toString('ascii', 0, 4) !== 'RIFF') throw new Error('not RIFF');
  if (bytes.readUInt32LE(4) !== bytes.length - 8) throw new Error('RIFF size mismatch');
  if (bytes.toString('ascii', 8, 12) !== 'WAVE') throw new Error('not WAVE');
  let offset = 12;
  let fmt: Omit<WavInfo, 'dataBytes' | 'durationMs'> | null = null;
  while (offset + 8 <= bytes.length) {
    const id = bytes.toString('ascii', offset, offset + 4);
    const size = bytes.readUInt32LE(offset + 4);
    const body = offset + 8;
    if (id === 'fmt ') {
      fmt = {
        format: bytes.readUInt16LE(body),
        channels: bytes.readUInt16LE(body + 2),
        sampleRate: bytes.readUInt32LE(body + 4),
        byteRate: bytes.readUInt32LE(body + 8),
        blockAlign: bytes.readUInt16LE(body + 12),
        bitsPerSample: bytes.readUInt16LE(body + 14),
      };
    } else if (id === 'data') {
      if (!fmt) throw new Error('data before fmt');
      if (body + size !== bytes.length) throw new Error('data size mismatch');
      return { ...fmt, dataBytes: size, durationMs: (size / fmt.byteRate) * 1000 };
    }
    offset = body + size + (size % 2);
  }
  throw new Error('no data chunk');
}
