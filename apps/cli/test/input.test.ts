import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { checkFile } from '../src/enqueue/enqueue.js';
import { formatOf, type InputItem, readItems } from '../src/input/read.js';
import { lineSchema, toBatchLine } from '../src/input/schema.js';

// Lines cloned one by one (`--per-line-clone`) may override every voice field; speech lines
// (the default) their speech model and settings.
const schema = lineSchema({ voiceIdMinLength: 8, mode: 'per_line_clone' });
const speech = lineSchema({ voiceIdMinLength: 8, mode: 'speech' });
let dir: string;

beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'voxline-cli-input-'));
});
afterAll(async () => {
  await rm(dir, { recursive: true, force: true });
});

async function read(name: string, content: string, using = schema): Promise<InputItem[]> {
  const file = join(dir, name);
  await writeFile(file, content);
  const items: InputItem[] = [];
  for await (const item of readItems(file, formatOf(file), using)) items.push(item);
  return items;
}

describe('formatOf', () => {
  it('follows the extension, else txt, and honours --format', () => {
    expect(formatOf('a.csv')).toBe('csv');
    expect(formatOf('a.NDJSON')).toBe('ndjson');
    expect(formatOf('a.jsonl')).toBe('ndjson');
    expect(formatOf('chapter-1')).toBe('txt');
    expect(formatOf('a.csv', 'txt')).toBe('txt');
    expect(() => formatOf('a.csv', 'xml')).toThrow(/txt, csv, ndjson/);
  });
});

describe('txt', () => {
  it('reads a line each, trimmed, skipping blank lines, with file line numbers', async () => {
    const items = await read('a.txt', '\uFEFFFirst line.\r\n\r\n   \n  Second line.  \nThird.');
    expect(items).toEqual([
      { line: 1, record: { text: 'First line.' } },
      { line: 4, record: { text: 'Second line.' } },
      { line: 5, record: { text: 'Third.' } },
    ]);
  });
});

describe('csv', () => {
  it('reads text, ref and overrides; quoted fields keep commas, quotes and newlines', async () => {
    const items = await read(
      'a.csv',
      [
        'text,ref,model,accuracy,need_noise_reduction,language_boost',
        '"Hello, ""world""",r1,speech-2.6-hd,0.5,yes,English',
        '',
        '"A line',
        'over two",r2,,,,',
        'Plain,,,,false,',
        ',,,,,',
        '',
      ].join('\n'),
    );
    expect(items).toEqual([
      {
        line: 2,
        record: {
          text: 'Hello, "world"',
          ref: 'r1',
          model: 'speech-2.6-hd',
          accuracy: 0.5,
          need_noise_reduction: true,
          language_boost: 'English',
        },
      },
      { line: 4, record: { text: 'A line\nover two', ref: 'r2' } },
      { line: 6, record: { text: 'Plain', need_noise_reduction: false } },
    ]);
  });

  it('names each bad row by its line, with every problem in it', async () => {
    const items = await read(
      'bad.csv',
      [
        'text,ref,model,accuracy,need_volume_normalization',
        'ok,a,,,',
        ',b,,,',
        'x,c,speech-9,2,maybe',
        'too,few',
        'ok,d,,1,true',
      ].join('\n'),
    );
    expect(items.map((i) => ('error' in i ? [i.line, i.error] : [i.line, 'ok']))).toEqual([
      [2, 'ok'],
      [3, 'text must not be empty'],
      [
        4,
        expect.stringMatching(
          /^need_volume_normalization must be true or false; accuracy must be between 0 and 1; model must be one of speech-02-hd/,
        ),
      ],
      [5, 'has 2 fields, the header has 5'],
      [6, 'ok'],
    ]);
  });

  it('refuses a header without text or with unknown columns, and an unclosed quote', async () => {
    const header = await read('h.csv', 'txt,ref,need_noise_reducton\nhello,a,true\n');
    expect(header).toEqual([
      {
        line: 1,
        fatal: true,
        error: expect.stringMatching(
          /^header: unknown columns "txt", "need_noise_reducton" .*; the header has no "text" column$/,
        ),
      },
    ]);
    const quote = await read('q.csv', 'text\nfine\n"never closed\nmore\n');
    expect(quote[0]).toEqual({ line: 2, record: { text: 'fine' } });
    expect(quote[1]).toMatchObject({
      fatal: true,
      error: expect.stringMatching(/Quote Not Closed/),
    });
    expect(await read('empty.csv', '')).toEqual([
      { line: 1, fatal: true, error: 'the CSV has no header row' },
    ]);
  });
});

describe('speech lines', () => {
  it('read the speech model and settings from CSV cells, and send the settings as `speech`', async () => {
    const items = await read(
      's.csv',
      [
        'text,ref,model,speed,pitch,emotion,english_normalization,pronunciation_dict,system_voice',
        'One.,a,speech-2.8-hd,1.25,-2,happy,yes,ASAP/As soon as possible; omg/oh my god,',
        'Two.,b,,,,,,,Wise_Woman',
      ].join('\n'),
      speech,
    );
    expect(items).toEqual([
      {
        line: 2,
        record: {
          text: 'One.',
          ref: 'a',
          model: 'speech-2.8-hd',
          speed: 1.25,
          pitch: -2,
          emotion: 'happy',
          english_normalization: true,
          pronunciation_dict: ['ASAP/As soon as possible', 'omg/oh my god'],
        },
      },
      { line: 3, record: { text: 'Two.', ref: 'b', system_voice: 'Wise_Woman' } },
    ]);
    const [first] = items;
    if (!first || !('record' in first)) throw new Error('no record');
    expect(toBatchLine(first.record)).toEqual({
      text: 'One.',
      ref: 'a',
      model: 'speech-2.8-hd',
      speech: {
        speed: 1.25,
        pitch: -2,
        emotion: 'happy',
        english_normalization: true,
        pronunciation_dict: ['ASAP/As soon as possible', 'omg/oh my god'],
      },
    });
    expect(toBatchLine({ text: 'Plain.' })).toEqual({ text: 'Plain.' });
  });

  it('refuse clone fields, models without a speech endpoint and settings out of range', async () => {
    const items = await read(
      's.ndjson',
      [
        '{"text":"a","accuracy":0.5}',
        '{"text":"a","model":"speech-2.5-hd-preview"}',
        '{"text":"a","speed":3,"pitch":0.5}',
        '{"text":"a","system_voice":"Nobody"}',
      ].join('\n'),
      speech,
    );
    expect(items.map((i) => ('error' in i ? `${i.line}: ${i.error}` : `${i.line}: ok`))).toEqual([
      '1: unknown field accuracy',
      expect.stringMatching(/^2: model must be one of speech-02-hd, speech-02-turbo/),
      '3: speed must be between 0.5 and 2; pitch must be an integer',
      expect.stringMatching(/^4: system_voice must be one of Wise_Woman/),
    ]);
    const header = await read('h.csv', 'text,accuracy\nhello,0.5\n', speech);
    expect(header[0]).toMatchObject({
      fatal: true,
      error: expect.stringMatching(/unknown column "accuracy"/),
    });
  });
});

describe('ndjson', () => {
  it('reads objects with text, ref and overrides, skipping blank lines', async () => {
    const items = await read(
      'a.ndjson',
      [
        '{"text":" One. ","ref":"1"}',
        '',
        '{"text":"Two.","need_noise_reduction":true,"accuracy":0.9,"custom_voice_id":"other0001"}',
      ].join('\n'),
    );
    expect(items).toEqual([
      { line: 1, record: { text: 'One.', ref: '1' } },
      {
        line: 3,
        record: {
          text: 'Two.',
          need_noise_reduction: true,
          accuracy: 0.9,
          custom_voice_id: 'other0001',
        },
      },
    ]);
  });

  it('names bad lines: not JSON, not an object, unknown or mistyped fields, no text', async () => {
    const items = await read(
      'bad.ndjson',
      [
        'not json',
        '[1,2]',
        '{"text":"a","need_noise_reducton":true}',
        '{"text":"a","need_noise_reduction":"true"}',
        '{"ref":"x"}',
        '{"text":"a","custom_voice_id":"1bad"}',
      ].join('\n'),
    );
    expect(items.map((i) => ('error' in i ? `${i.line}: ${i.error}` : `${i.line}: ok`))).toEqual([
      expect.stringMatching(/^1: not valid JSON/),
      '2: must be a JSON object with a "text" field',
      '3: unknown field need_noise_reducton',
      '4: need_noise_reduction must be a JSON boolean',
      '5: text is required',
      '6: custom_voice_id must be at least 8 characters; custom_voice_id must start with a letter',
    ]);
  });
});

describe('checkFile', () => {
  it('counts good lines and keeps the first problems with their lines', async () => {
    const file = join(dir, 'many.ndjson');
    const lines = Array.from({ length: 60 }, (_, i) =>
      i % 2 === 0 ? `{"text":"line ${i + 1}"}` : '{"text":""}',
    );
    await writeFile(file, lines.join('\n'));
    const check = await checkFile(file, 'ndjson', schema);
    expect(check.lines).toBe(30);
    expect(check.problemCount).toBe(30);
    expect(check.problems).toHaveLength(20);
    expect(check.problems[0]).toEqual({ line: 2, error: 'text must not be empty' });
  });

  it('streams a 100,000-line file', async () => {
    const file = join(dir, 'big.txt');
    const line = 'It was the best of times, it was the worst of times.\n';
    await writeFile(file, line.repeat(100_000));
    const check = await checkFile(file, 'txt', schema);
    expect(check).toEqual({ lines: 100_000, problems: [], problemCount: 0 });
  });
});
