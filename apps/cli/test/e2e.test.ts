import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { cloneJobs } from '@voxline/db';
import { type SimulatorHandle, startSimulator } from '@voxline/runninghub-sim';
import {
  createTestDatabase,
  createTestRedis,
  freePort,
  type TestDatabase,
  type TestRedis,
} from '@voxline/testing';
import { parse } from 'csv-parse/sync';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { assertBuilt, CliProcess, runCli } from './cli.js';

/**
 * The built `voxline` binary end to end: `voxline start` runs the API and the worker as
 * processes (on a database and a Redis prefix of this file's own) against a simulator in this
 * process; `voxline tenants create`, `enqueue`, `status` and `cancel` talk to them over HTTP.
 */

const ADMIN_TOKEN = 'cli-e2e-admin-token-0123456789';
const VOICE = ['--audio', 'https://cdn.example.com/narrator.wav', '--voice-id', 'narrator01'];

let db: TestDatabase;
let redis: TestRedis;
let sim: SimulatorHandle;
let stack: CliProcess;
let dir: string;
let env: Record<string, string>;

beforeAll(async () => {
  assertBuilt();
  [db, redis] = await Promise.all([createTestDatabase(), createTestRedis()]);
  sim = await startSimulator({
    durations: { baseMs: 40, perCharMs: 0.5, sigma: 0.2 },
    maxInFlight: 5,
    duplicateVoiceId: 'allow',
  });
  dir = await mkdtemp(join(tmpdir(), 'voxline-cli-e2e-'));
  const port = await freePort();
  const base = {
    NODE_ENV: 'test',
    DATABASE_URL: db.url,
    REDIS_URL: redis.url,
    QUEUE_PREFIX: redis.prefix,
    ADMIN_TOKEN,
    LOG_LEVEL: 'warn',
    PORT: String(port),
    VOXLINE_API_URL: `http://127.0.0.1:${port}`,
  };
  stack = new CliProcess(
    ['start'],
    {
      ...base,
      RUNNINGHUB_BASE_URL: sim.url,
      RUNNINGHUB_API_KEY: 'cli-e2e-key',
      RUNNINGHUB_MAX_IN_FLIGHT: '5',
      WORKER_METRICS_PORT: '0',
      AUDIO_URL_ALLOWLIST: 'cdn.example.com',
      // Seconds, not minutes: short polls and backoffs.
      POLL_MIN_INTERVAL_MS: '20',
      POLL_MAX_INTERVAL_MS: '250',
      RETRY_BASE_DELAY_MS: '20',
      RETRY_MAX_DELAY_MS: '200',
      SLOT_WAIT_MS: '20',
      SHUTDOWN_TIMEOUT_MS: '5000',
    },
    dir,
  );
  await stack.waitForOutput(/ready at http:\/\/127\.0\.0\.1:\d+/);
  expect(stack.output).toContain(`upstream: RunningHub at ${sim.url}`);

  const tenant = await runCli(['tenants', 'create', 'cli-e2e', '--json'], base);
  expect(tenant.code, tenant.stderr).toBe(0);
  const { api_key: apiKey } = JSON.parse(tenant.stdout) as { api_key: string };
  expect(apiKey).toMatch(/^vxl_/);
  env = { ...base, VOXLINE_API_KEY: apiKey };
});

afterAll(async () => {
  if (stack) {
    stack.child.kill('SIGTERM');
    const run = await stack.exited;
    expect(run.code, run.stderr).toBe(0);
  }
  await sim?.close();
  await redis?.cleanup();
  await db?.drop();
  if (dir) await rm(dir, { recursive: true, force: true });
});

async function file(name: string, content: string): Promise<string> {
  const path = join(dir, name);
  await writeFile(path, content);
  return path;
}

describe('voxline enqueue --wait --json --out', () => {
  it('sends a CSV in batches, waits, writes the results, and does not duplicate on a re-run', async () => {
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
    ]);
    results.forEach((row, i) => {
      const want = expected[i];
      expect(row.ref).toBe(want?.ref);
      expect(Number(row.line)).toBe(want?.line);
      if (want?.fails) {
        expect(row).toMatchObject({ status: 'failed', audio_url: '', error_code: '1505' });
        expect(row.error_message).toMatch(/REAL_PERSON_PROHIBITED/);
      } else {
        expect(row.status).toBe('succeeded');
        expect(row.audio_url).toMatch(new RegExp(`^${sim.url}/files/.+\\.wav\\?`));
        expect(row.error_code).toBe('');
      }
    });
    // Per-line overrides reached the stored request.
    const jobs = await db.db.select().from(cloneJobs);
    expect(jobs).toHaveLength(23);
    expect(jobs.filter((j) => j.request.model === 'speech-2.6-hd')).toHaveLength(7);

    // The same command again (a re-run after a crash): every batch is the one already there.
    const again = await runCli(args, env, dir);
    expect(again.code, again.stderr).toBe(2);
    const replay = JSON.parse(again.stdout);
    expect(replay.batches.map((b: { id: string }) => b.id)).toEqual(
      summary.batches.map((b: { id: string }) => b.id),
    );
    expect(replay.batches.every((b: { replayed: boolean }) => b.replayed)).toBe(true);
    expect(await db.db.select().from(cloneJobs)).toHaveLength(23);
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

describe('Ctrl-C during --wait', () => {
  it('leaves the batch running, says how to follow it, and exits 130', async () => {
    const txt = await file('slow.txt', 'This one finishes.\nThis one never does [[sim:never]]\n');
    const enqueue = new CliProcess(['enqueue', txt, ...VOICE, '--wait'], env, dir);
    const [, batchId] = (await enqueue.waitForOutput(/accepted as (\S+)/)) as [string, string];
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
