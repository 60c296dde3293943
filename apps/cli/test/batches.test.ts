import { describe, expect, it } from 'vitest';
import { ApiError } from '../src/api/client.js';
import {
  type BatchBody,
  idempotencyKey,
  type PlannedBatch,
  type Speaker,
  type SpeechDefaults,
  speakerFields,
  splitIntoBatches,
} from '../src/enqueue/batches.js';
import { mapLineErrors } from '../src/enqueue/enqueue.js';
import type { BatchLine, Voice } from '../src/input/schema.js';

const voice: Voice = { audio: 'https://cdn.example.com/v.wav', custom_voice_id: 'narrator01' };
const speaker: Speaker = { kind: 'inline', voice };

async function* lines(texts: string[], firstLine = 1) {
  for (const [i, text] of texts.entries()) {
    yield { line: firstLine + i * 2, record: { text } as BatchLine };
  }
}

async function split(
  texts: string[],
  options: {
    batchSize?: number;
    maxBodyBytes?: number;
    salt?: string;
    speaker?: Speaker;
    defaults?: SpeechDefaults;
    maxCost?: () => number;
  } = {},
): Promise<PlannedBatch[]> {
  const out: PlannedBatch[] = [];
  for await (const b of splitIntoBatches(lines(texts), {
    speaker: options.speaker ?? speaker,
    defaults: options.defaults,
    maxCost: options.maxCost,
    batchSize: options.batchSize ?? 10_000,
    maxBodyBytes: options.maxBodyBytes ?? 8 * 1024 * 1024,
    salt: options.salt,
  })) {
    out.push(b);
  }
  return out;
}

const texts = (n: number) => Array.from({ length: n }, (_, i) => `Line number ${i + 1}.`);

describe('splitIntoBatches', () => {
  it('cuts at the batch size, keeping order and the file line of every line', async () => {
    const batches = await split(texts(25), { batchSize: 10 });
    expect(batches.map((b) => b.body.lines.length)).toEqual([10, 10, 5]);
    expect(batches.map((b) => b.index)).toEqual([0, 1, 2]);
    expect(batches[1]?.body.lines[0]).toEqual({ text: 'Line number 11.' });
    // Lines come from every other line of the file (1, 3, 5, …).
    expect(batches[1]?.fileLines[0]).toBe(21);
    expect(batches[2]?.fileLines).toEqual([41, 43, 45, 47, 49]);
    expect(batches[0]?.body.voice).toEqual(voice);
  });

  it('defaults to one batch of up to 10,000 lines', async () => {
    const batches = await split(texts(10_001));
    expect(batches.map((b) => b.body.lines.length)).toEqual([10_000, 1]);
  });

  it('also cuts before the body would pass the byte limit', async () => {
    const long = Array.from({ length: 10 }, (_, i) => `${i}`.padEnd(1_000, 'x'));
    const batches = await split(long, { maxBodyBytes: 3_500 });
    expect(batches.map((b) => b.body.lines.length)).toEqual([3, 3, 3, 1]);
    for (const b of batches) {
      expect(Buffer.byteLength(JSON.stringify(b.body))).toBeLessThanOrEqual(3_500);
    }
  });

  it('sends nothing for no lines', async () => {
    expect(await split([])).toEqual([]);
  });

  it("asks for each batch's budget when it is cut, after the batch before it was sent", async () => {
    let left = 10;
    const budgets: number[] = [];
    for await (const b of splitIntoBatches(lines(texts(25)), {
      speaker,
      batchSize: 10,
      maxBodyBytes: 8 * 1024 * 1024,
      maxCost: () => left,
    })) {
      budgets.push(b.body.max_cost as number);
      // What sending the batch leaves of the budget.
      left -= 3;
    }
    expect(budgets).toEqual([10, 7, 4]);
  });
});

describe('speakerFields', () => {
  it('names the voice one way per speaker, with the speech defaults but for a per-line clone', () => {
    const defaults: SpeechDefaults = { model: 'speech-2.8-hd', speech: { speed: 1.2 } };
    expect(speakerFields({ kind: 'voice', voiceId: 'v1' }, defaults)).toEqual({
      voice_id: 'v1',
      model: 'speech-2.8-hd',
      speech: { speed: 1.2 },
    });
    expect(speakerFields({ kind: 'system_voice', name: 'Wise_Woman' }, {})).toEqual({
      system_voice: 'Wise_Woman',
    });
    expect(speakerFields({ kind: 'inline', voice }, { speech: {} })).toEqual({ voice });
    expect(speakerFields({ kind: 'per_line_clone', voice }, defaults)).toEqual({
      voice,
      per_line_clone: true,
    });
  });
});

describe('idempotency keys', () => {
  it('are the same for the same file, so a re-run after a crash replays the batches', async () => {
    const first = await split(texts(25), { batchSize: 10 });
    const again = await split(texts(25), { batchSize: 10 });
    expect(again.map((b) => b.idempotencyKey)).toEqual(first.map((b) => b.idempotencyKey));
    expect(new Set(first.map((b) => b.idempotencyKey)).size).toBe(3);
    for (const b of first) expect(b.idempotencyKey).toMatch(/^vxl-cli-\d+-[0-9a-f]{40}$/);
    expect(first[0]?.idempotencyKey.startsWith('vxl-cli-1-')).toBe(true);
  });

  it('change only for the batch whose lines changed', async () => {
    const before = await split(texts(25), { batchSize: 10 });
    const edited = texts(25);
    edited[14] = 'An edited line.';
    const after = await split(edited, { batchSize: 10 });
    expect(after[0]?.idempotencyKey).toBe(before[0]?.idempotencyKey);
    expect(after[1]?.idempotencyKey).not.toBe(before[1]?.idempotencyKey);
    expect(after[2]?.idempotencyKey).toBe(before[2]?.idempotencyKey);
  });

  it('change with the voice, and with a salt (to send the same file again on purpose)', async () => {
    const base = await split(texts(5));
    const otherVoice = await split(texts(5), {
      speaker: { kind: 'inline', voice: { ...voice, model: 'speech-2.8-hd' } },
    });
    const salted = await split(texts(5), { salt: 'second take' });
    expect(otherVoice[0]?.idempotencyKey).not.toBe(base[0]?.idempotencyKey);
    expect(salted[0]?.idempotencyKey).not.toBe(base[0]?.idempotencyKey);
  });

  it('tell batches of the same lines at another position apart', () => {
    const body: BatchBody = { voice_id: 'v1', lines: [{ text: 'Same.' }] };
    expect(idempotencyKey(body, 0)).not.toBe(idempotencyKey(body, 1));
  });
});

describe('mapLineErrors', () => {
  it('names the file line behind each lines.N path of a 400', async () => {
    const [batch] = await split(texts(3));
    if (!batch) throw new Error('no batch');
    const error = new ApiError(400, 'validation_error', 'invalid request body', [
      { path: 'lines.2.text', message: 'text must be at most 10000 characters' },
      { path: 'lines.0.ref', message: 'must not contain NUL characters' },
      { path: 'voice.audio', message: 'refused: private address' },
    ]);
    expect(mapLineErrors(error, batch)).toEqual([
      'line 5: text must be at most 10000 characters',
      'line 1: ref: must not contain NUL characters',
      'voice.audio: refused: private address',
    ]);
  });
});
