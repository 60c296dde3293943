import { readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { cloneJobs } from '@voxline/db';
import { roundPrice } from '@voxline/runninghub';
import { renderWav } from '@voxline/runninghub-sim';
import type { TestDatabase } from '@voxline/testing';
import { parse } from 'csv-parse/sync';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { formatMoney } from '../src/watch/cost.js';
import { runCli } from './cli.js';
import { type CliStack, startCliStack } from './stack.js';

/**
 * `voxline voices …` and `voxline enqueue --voice ID | --system-voice NAME` end to end, on the
 * built binary against `voxline start` and a simulator (see stack.ts).
 */

let stack: CliStack;
let db: TestDatabase;
let dir: string;
let env: Record<string, string>;

beforeAll(async () => {
  stack = await startCliStack('voices');
  ({ db, dir, env } = stack);
});

afterAll(() => stack?.close());

async function file(name: string, content: string | Buffer): Promise<string> {
  const path = join(dir, name);
  await writeFile(path, content);
  return path;
}

async function json(args: string[], code = 0) {
  const run = await runCli([...args, '--json'], env, dir);
  expect(run.code, run.stderr).toBe(code);
  return JSON.parse(run.stdout);
}

const lineTexts = ['The first line.', 'A second, longer line of the chapter.', 'Third.'];

describe('voxline voices', () => {
  let fromFile: string;

  it('creates a voice from a local file (multipart), waits until it is ready, and shows it', async () => {
    const wav = await file('narrator.wav', renderWav('reference', 400));
    const voice = await json(['voices', 'create', '--file', wav, '--name', 'Narrator', '--wait']);
    expect(voice).toMatchObject({
      object: 'voice',
      name: 'Narrator',
      status: 'ready',
      clones: 1,
      reference: { kind: 'upload', url: null },
      cost: { estimated: 3.12, currency: 'CNY' },
      error: null,
    });
    expect(voice.upstream_voice_id).toMatch(/^vx[0-9a-f]{32}/);
    expect(voice.preview?.url).toBeTruthy();
    fromFile = voice.id;

    const shown = await runCli(['voices', 'show', fromFile], env, dir);
    expect(shown.code, shown.stderr).toBe(0);
    expect(shown.stdout).toMatch(/status\s+ready/);
    expect(shown.stdout).toMatch(/cost\s+3\.12 CNY/);
  });

  it('creates one from a URL without waiting, then waits with `show --wait`', async () => {
    const created = await json([
      'voices',
      'create',
      '--url',
      'https://cdn.example.com/other.wav',
      '--keep-alive',
      '--preview-text',
      'Hello there.',
    ]);
    expect(created).toMatchObject({
      status: 'cloning',
      keep_alive: true,
      preview_text: 'Hello there.',
    });
    const ready = await json(['voices', 'show', created.id, '--wait', '--interval', '50']);
    expect(ready.status).toBe('ready');
    const listed = await json(['voices', 'list']);
    expect(listed.data.map((v: { id: string }) => v.id)).toEqual([created.id, fromFile]);
  });

  it('refuses bad input before anything is sent', async () => {
    const both = await json(
      ['voices', 'create', '--url', 'https://cdn.example.com/a.wav', '--file', 'x.wav'],
      1,
    );
    expect(both.error.code).toBe('invalid_option');
    const text = await file('notes.txt', 'not audio');
    const wrong = await json(['voices', 'create', '--file', text], 1);
    expect(wrong.error.message).toMatch(/must be an \.mp3 or \.wav file/);
    const model = await json(
      ['voices', 'create', '--url', 'https://cdn.example.com/a.wav', '--model', 'speech-9'],
      1,
    );
    expect(model.error.details).toEqual([expect.stringMatching(/^model must be one of/)]);
    const unknown = await json(['voices', 'show', '0193c3d6-5c7e-7a51-9f0e-2b8f4c1d9e21'], 1);
    expect(unknown.error).toMatchObject({ code: 'not_found' });
  });

  it('speaks a file with the voice: speech lines, their cost in the summary and in results.csv', async () => {
    const txt = await file('chapter.txt', `${lineTexts.join('\n')}\n`);
    const out = join(dir, 'voice-results.csv');
    const summary = await json([
      'enqueue',
      txt,
      '--voice',
      fromFile,
      '--model',
      'speech-2.8-hd',
      '--speed',
      '1.1',
      '--out',
      out,
    ]);
    expect(summary.counts).toMatchObject({ succeeded: 3, failed: 0 });
    const chars = lineTexts.join('').length;
    // speech-2.8-hd: 0.62 CNY per 1,000 characters; the simulator bills the same.
    expect(summary.cost.estimated).toBeCloseTo((0.62 * chars) / 1000, 6);
    expect(summary.cost.spent).toBeCloseTo(summary.cost.estimated, 6);

    const rows = parse(await readFile(out, 'utf8'), { columns: true }) as Array<
      Record<string, string>
    >;
    expect(rows.map((r) => [r.kind, r.voice_id, Number(r.cost_estimated)])).toEqual(
      lineTexts.map((t) => ['speech', fromFile, roundPrice((0.62 * t.length) / 1000)]),
    );
    for (const r of rows) expect(Number(r.cost_actual)).toBeCloseTo(Number(r.cost_estimated), 6);

    const jobs = (await db.db.select().from(cloneJobs)).filter((j) => j.voiceId === fromFile);
    // Its one clone, and the three lines: the voice was not cloned again.
    expect(jobs.filter((j) => j.kind === 'voice_clone')).toHaveLength(1);
    const speech = jobs
      .filter((j) => j.kind === 'speech')
      .sort((a, b) => (a.lineIndex ?? 0) - (b.lineIndex ?? 0));
    expect(speech.map((j) => j.request)).toEqual(
      lineTexts.map((text) => ({ model: 'speech-2.8-hd', text, speed: 1.1 })),
    );
  });

  it('speaks with a system voice, no clone at all', async () => {
    const txt = await file('system.txt', 'Spoken by a system voice.\n');
    const summary = await json(['enqueue', txt, '--system-voice', 'Wise_Woman', '--wait']);
    expect(summary.counts.succeeded).toBe(1);
    const [batchId] = summary.batches.map((b: { id: string }) => b.id);
    const [job] = (await db.db.select().from(cloneJobs)).filter((j) => j.batchId === batchId);
    expect(job).toMatchObject({ kind: 'speech', voiceId: null });
    expect(job?.request).toMatchObject({ system_voice: 'Wise_Woman', model: 'speech-02-hd' });
    const status = await runCli(['status', batchId], env, dir);
    expect(status.code, status.stderr).toBe(0);
    const cost = formatMoney(roundPrice((0.31 * 'Spoken by a system voice.'.length) / 1000));
    expect(status.stdout).toContain('spent / estimated');
    expect(status.stdout).toContain(`${cost} / ${cost}`);
  });

  it('refuses a file over --max-cost, writing nothing', async () => {
    const before = (await db.db.select().from(cloneJobs)).length;
    const txt = await file('budget.txt', `${lineTexts.join('\n')}\n`);
    const refused = await json(['enqueue', txt, '--voice', fromFile, '--max-cost', '0.001'], 1);
    expect(refused.error.code).toBe('budget_exceeded');
    expect(refused.error.message).toMatch(/^batch 1 \(lines 1-3 of .*\) was refused: /);
    expect(await db.db.select().from(cloneJobs)).toHaveLength(before);

    // A budget for the whole file: each batch gets what the ones before it left.
    const perLine = roundPrice((0.31 * 'Two.'.length) / 1000);
    const three = await file('three.txt', 'One.\nTwo.\nSix.\n');
    const partly = await json(
      [
        'enqueue',
        three,
        '--voice',
        fromFile,
        '--batch-size',
        '1',
        '--max-cost',
        String(2.5 * perLine),
      ],
      1,
    );
    expect(partly.error.code).toBe('budget_exceeded');
    expect(partly.error.message).toMatch(
      /^batch 3 \(lines 3-3 of .*; the 2 batches before it were accepted/,
    );
    expect(await db.db.select().from(cloneJobs)).toHaveLength(before + 2);
  });

  it('refuses to delete a voice with lines to speak, then deletes it', async () => {
    const txt = await file('pending.txt', 'This line never ends [[sim:never]]\n');
    const sent = await json(['enqueue', txt, '--voice', fromFile]);
    const inUse = await json(['voices', 'delete', fromFile], 1);
    expect(inUse.error.code).toBe('voice_in_use');
    await json(['cancel', sent.batches[0].id]);
    expect(await json(['voices', 'delete', fromFile])).toEqual({ id: fromFile, deleted: true });
    const gone = await json(['voices', 'show', fromFile], 1);
    expect(gone.error.code).toBe('not_found');
  });
});
