import { mkdtemp, readdir, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { cloneJobs } from '@voxline/db';
import {
  createTestDatabase,
  createTestRedis,
  freePort,
  type TestDatabase,
  type TestRedis,
} from '@voxline/testing';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { assertBuilt, CliProcess } from './cli.js';

/**
 * `voxline demo` (the README's `pnpm demo`) as a process, on a short narration: it clones one
 * voice, narrates every line with it and prints what that cost beside a clone a line.
 */

let db: TestDatabase;
let redis: TestRedis;
let dir: string;

beforeAll(async () => {
  assertBuilt();
  dir = await mkdtemp(join(tmpdir(), 'voxline-cli-demo-'));
  [db, redis] = await Promise.all([createTestDatabase(), createTestRedis()]);
});

afterAll(async () => {
  await redis?.cleanup();
  await db?.drop();
  await rm(dir, { recursive: true, force: true });
});

describe('voxline demo', () => {
  it('clones its voice once, narrates the file with it and compares the cost', async () => {
    const narration = join(dir, 'narration.txt');
    const lines = ['It was a dark night.', 'The rain fell.', 'Nobody came.', 'Then a knock.'];
    await writeFile(narration, `${lines.join('\n')}\n`);
    const demo = new CliProcess(['demo', '--file', narration, '--out', join(dir, 'results.csv')], {
      NODE_ENV: 'test',
      DATABASE_URL: db.url,
      REDIS_URL: redis.url,
      QUEUE_PREFIX: redis.prefix,
      ADMIN_TOKEN: 'cli-demo-admin-token-0123456789',
      PORT: String(await freePort()),
      SIM_PORT: String(await freePort()),
      WORKER_METRICS_PORT: '0',
      SHUTDOWN_TIMEOUT_MS: '5000',
      // Not the default ./data/audio under the directory the tests run in.
      AUDIO_STORE: `file://${join(dir, 'store')}`,
    });
    try {
      await demo.waitForOutput(/serving; Ctrl-C stops everything/, 120_000);
    } finally {
      demo.child.kill('SIGTERM');
    }
    const run = await demo.exited;
    expect(run.code, run.stdout + run.stderr).toBe(0);
    const out = run.stdout;
    expect(out).toMatch(/cloning once from https:\/\/example\.com\/voices\/narrator\.wav/);
    expect(out).toMatch(/succeeded 4, failed 0, canceled 0/);
    // Its audio downloaded from voxline's own copy, next to results.csv.
    expect(out).toMatch(/4 audio files in .+ \(voxline download BATCH --out DIR\)/);
    expect((await readdir(join(dir, 'audio'))).sort()).toEqual([
      '1.wav',
      '2.wav',
      '3.wav',
      '4.wav',
    ]);
    const chars = lines.join('').length;
    const speech = (0.31 * chars) / 1000;
    const money = (n: number) => n.toFixed(n >= 1 ? 2 : 4).replace(/\./, '\\.');
    expect(out).toMatch(/voice clone \(once, 1 call\)\s+3\.12 CNY/);
    expect(out).toMatch(
      new RegExp(`4 speech lines \\(${chars} characters\\)\\s+${money(speech)} CNY`),
    );
    expect(out).toMatch(new RegExp(`total\\s+${money(3.12 + speech)} CNY`));
    expect(out).toMatch(
      /one clone a line instead \(4 × 3\.12 CNY, --per-line-clone\)\s+12\.48 CNY, 4× more/,
    );

    const jobs = await db.db.select().from(cloneJobs);
    expect(jobs.filter((j) => j.kind === 'voice_clone')).toHaveLength(1);
    expect(jobs.filter((j) => j.kind === 'speech')).toHaveLength(4);
  });
});
