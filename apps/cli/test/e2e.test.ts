import { readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { cloneJobs } from '@voxline/db';
import type { SimulatorHandle } from '@voxline/runninghub-sim';
import type { TestDatabase } from '@voxline/testing';
import { parse } from 'csv-parse/sync';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { CliProcess, runCli } from './cli.js';
import { type CliStack, startCliStack, VOICE } from './stack.js';

/**
 * The built `voxline` binary end to end: `voxline start` runs the API and the worker as
 * processes (on a database and a Redis prefix of this file's own) against a simulator in this
 * process; `voxline tenants create`, `enqueue`, `status` and `cancel` talk to them over HTTP.
 */

let stack: CliStack;
let db: TestDatabase;
let sim: SimulatorHandle;
let dir: string;
let env: Record<string, string>;

beforeAll(async () => {
  stack = await startCliStack('e2e');
  ({ db, sim, dir, env } = stack);
  expect(stack.start.output).toContain(`upstream: RunningHub at ${sim.url}`);
  expect(stack.apiKey).toMatch(/^vxl_/);
});

afterAll(() => stack?.close());

async function file(name: string, content: string): Promise<string> {
  const path = join(dir, name);
  await writeFile(path, content);
  return path;
}

describe('voxline enqueue --wait --json --out', () => {
  it('sends a CSV in batches spoken with one voice cloned once, writes the results with their cost, and does not duplicate on a re-run', async () => {
    const rows = ['text,ref,model'];
    const expected: Array<{ ref: string; line: number; fails: boolean }> = [];
    let line = 1;
    for (let i = 1; i <= 23; i++) {
      if (i === 5) {
        // A quoted field over two lines and a blank line: results must still name the
        // line each record starts on.
        rows.push(`"Line ${i}, which`, `goes on",ref-${i},`, '');
        line += 1;
        expected.push({ ref: `ref-${i}`, line, fails: false });
        line += 2;
        continue;
      }
      const fails = i === 17;
      const text = fails ? `Line ${i} [[sim:task=1505]]` : `Line ${i}.`;
      rows.push(`${text},ref-${i},${i % 3 === 0 ? 'speech-2.6-hd' : ''}`);
      line += 1;
      expected.push({ ref: `ref-${i}`, line, fails });
    }
    const csv = await file('narration.csv', `${rows.join('\n')}\n`);
    const out = join(dir, 'results.csv');
    const args = ['enqueue', csv, ...VOICE, '--batch-size', '10', '--wait', '--json', '--out', out];

    const run = await runCli(args, env, dir);
    // 2: waited to the end, but a line failed.
    expect(run.code, run.stderr).toBe(2);
    const summary = JSON.parse(run.stdout);
    expect(summary).toMatchObject({
      lines: 23,
      total: 23,
      counts: { succeeded: 22, failed: 1, canceled: 0, queued: 0, running: 0, submitting: 0 },
      results_file: out,
    });
    expect(summary.batches).toHaveLength(3);
    expect(summary.batches.map((b: { lines: number }) => b.lines)).toEqual([10, 10, 3]);
    expect(summary.batches.every((b: { replayed: boolean }) => !b.replayed)).toBe(true);
    // What the lines cost, against the batches' estimate (the first batch's also holds the
    // voice's clone: it created the voice, the two after it reused it).
    expect(summary.cost.currency).toBe('CNY');
    expect(summary.cost.estimated).toBeCloseTo(
      summary.batches.reduce((n: number, b: { estimated_cost: number }) => n + b.estimated_cost, 0),
      6,
    );
    expect(summary.cost.spent).toBeGreaterThan(3.12);
    expect(summary.cost.spent).toBeLessThan(summary.cost.estimated);

    const results = parse(await readFile(out, 'utf8'), { columns: true }) as Array<
      Record<string, string>
    >;
    expect(results).toHaveLength(23);
    expect(Object.keys(results[0] ?? {})).toEqual([
      'ref',
      'line',
      'status',
      'audio_url',
      'error_code',
      'error_message',
      'clone_id',
      'batch_id',
      'kind',
      'voice_id',
      'cost_estimated',
      'cost_actual',
      'currency',
    ]);
    const jobs = await db.db.select().from(cloneJobs);
    const voiceClones = jobs.filter((j) => j.kind === 'voice_clone');
    // One voice for the three batches, cloned once; every line a speech call with it.
    expect(voiceClones).toHaveLength(1);
    const voiceId = voiceClones[0]?.voiceId;
    expect(voiceId).toBeTruthy();
    results.forEach((row, i) => {
      const want = expected[i];
      expect(row.ref).toBe(want?.ref);
      expect(Number(row.line)).toBe(want?.line);
      expect(row).toMatchObject({ kind: 'speech', voice_id: voiceId, currency: 'CNY' });
      expect(Number(row.cost_estimated)).toBeGreaterThan(0);
      if (want?.fails) {
        expect(row).toMatchObject({ status: 'failed', audio_url: '', error_code: '1505' });
        expect(row.error_message).toMatch(/REAL_PERSON_PROHIBITED/);
        expect(row.cost_actual).toBe('');
      } else {
        expect(row.status).toBe('succeeded');
        // voxline's stored copy, not upstream's expiring link.
        expect(row.audio_url).toBe(`${env.VOXLINE_API_URL}/v1/clones/${row.clone_id}/audio`);
        expect(row.error_code).toBe('');
        expect(Number(row.cost_actual)).toBeGreaterThan(0);
      }
    });
    // Per-line overrides reached the stored request.
    const lines = jobs.filter((j) => j.kind === 'speech');
    expect(lines).toHaveLength(23);
    expect(lines.filter((j) => j.request.model === 'speech-2.6-hd')).toHaveLength(7);

    // The same command again (a re-run after a crash): every batch is the one already there.
    const again = await runCli(args, env, dir);
    expect(again.code, again.stderr).toBe(2);
    const replay = JSON.parse(again.stdout);
    expect(replay.batches.map((b: { id: string }) => b.id)).toEqual(
      summary.batches.map((b: { id: string }) => b.id),
    );
    expect(replay.batches.every((b: { replayed: boolean }) => b.replayed)).toBe(true);
    expect(await db.db.select().from(cloneJobs)).toHaveLength(24);
  });

  it("maps the API's field errors to lines of the file, and sends nothing for a bad file", async () => {
    const long = await file('long.txt', `One.\n\n${'x'.repeat(10_001)}\nTwo.\n`);
    const refused = await runCli(['enqueue', long, ...VOICE], env, dir);
    expect(refused.code).toBe(1);
    expect(refused.stderr).toContain('error: validation_error: batch 1 (lines 1-4 of');
    expect(refused.stderr).toContain('  - line 3: text must be at most 10000 characters');

    const bad = await file('bad.ndjson', '{"text":"ok"}\n{"text":"x","modle":"speech-02-hd"}\n');
    const invalid = await runCli(['enqueue', bad, ...VOICE, '--json'], env, dir);
    expect(invalid.code).toBe(1);
    expect(JSON.parse(invalid.stdout)).toEqual({
      error: {
        code: 'invalid_file',
        message: expect.stringContaining('has 1 bad line; nothing was sent'),
        details: ['line 2: unknown field modle'],
      },
    });
  });
});

describe('voxline enqueue --per-line-clone', () => {
  it('clones the voice once a line, as before voices', async () => {
    const txt = await file('clones.txt', 'One clone.\nAnother clone.\n');
    const run = await runCli(
      [
        'enqueue',
        txt,
        ...VOICE,
        '--per-line-clone',
        '--model',
        'speech-2.6-hd',
        '--wait',
        '--json',
      ],
      env,
      dir,
    );
    expect(run.code, run.stderr).toBe(0);
    const summary = JSON.parse(run.stdout);
    // 3.12 CNY a line.
    expect(summary.cost).toEqual({ spent: 6.24, estimated: 6.24, currency: 'CNY' });
    const jobs = (await db.db.select().from(cloneJobs)).filter(
      (j) => j.batchId === summary.batches[0].id,
    );
    expect(jobs.map((j) => [j.kind, j.voiceId, j.request.model])).toEqual([
      ['voice_clone', null, 'speech-2.6-hd'],
      ['voice_clone', null, 'speech-2.6-hd'],
    ]);
  });
});

describe('Ctrl-C during --wait', () => {
  it('leaves the batch running, says how to follow it, and exits 130', async () => {
    const txt = await file('slow.txt', 'This one finishes.\nThis one never does [[sim:never]]\n');
    const enqueue = new CliProcess(['enqueue', txt, ...VOICE, '--wait'], env, dir);
    const [, batchId] = (await enqueue.waitForOutput(/accepted as ([0-9a-f-]+)/)) as [
      string,
      string,
    ];
    await enqueue.waitForOutput(/progress: /);
    enqueue.child.kill('SIGINT');
    const run = await enqueue.exited;
    expect(run.code).toBe(130);
    expect(run.stderr).toContain('interrupted: the batch keeps running on the server.');
    expect(run.stderr).toContain(`follow it with: voxline status ${batchId} --wait`);

    const status = await runCli(['status', batchId, '--json'], env, dir);
    expect(status.code, status.stderr).toBe(0);
    expect(JSON.parse(status.stdout)).toMatchObject({ id: batchId, status: 'running', total: 2 });

    const cancel = await runCli(['cancel', batchId, '--json'], env, dir);
    expect(cancel.code, cancel.stderr).toBe(0);
    expect(JSON.parse(cancel.stdout)).toMatchObject({ id: batchId, status: 'canceled' });
  });
});
