import { createHash } from 'node:crypto';
import { readdir, readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import type { SimulatorHandle } from '@voxline/runninghub-sim';
import { parse } from 'csv-parse/sync';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { runCli } from './cli.js';
import { type CliStack, startCliStack, VOICE } from './stack.js';

/**
 * `voxline download BATCH --out DIR` against the built stack (`voxline start`, storing results
 * in its folder store) and a simulator in this process that speaks with espeak-ng (installed by
 * CI, .ci/run), on a clock the test moves to make upstream's links expire.
 */

const DAY = 24 * 3_600_000;

let stack: CliStack;
let sim: SimulatorHandle;
let dir: string;
let env: Record<string, string>;
let clockOffset = 0;

beforeAll(async () => {
  stack = await startCliStack('download', (dir) => ({
    synth: 'espeak-ng',
    filesDir: join(dir, 'sim'),
    now: () => Date.now() + clockOffset,
  }));
  ({ sim, dir, env } = stack);
});

afterAll(() => stack?.close());

interface StoredClone {
  id: string;
  status: string;
  ref: string | null;
  audio: { url: string; upstream_url?: string; sha256?: string; format?: string } | null;
}

async function api(path: string): Promise<Response> {
  return fetch(`${env.VOXLINE_API_URL}${path}`, {
    headers: { authorization: `Bearer ${stack.apiKey}` },
  });
}

async function clonesOf(batchId: string): Promise<StoredClone[]> {
  const res = await api(`/v1/batches/${batchId}/clones?limit=100`);
  expect(res.status).toBe(200);
  return ((await res.json()) as { data: StoredClone[] }).data;
}

const sha256 = (bytes: Buffer) => createHash('sha256').update(bytes).digest('hex');

/** Enqueues a CSV, waits for it, and returns its one batch id and its results rows. */
async function narrate(name: string, csv: string) {
  const path = join(dir, name);
  await writeFile(path, csv);
  const out = join(dir, `${name}.results.csv`);
  const run = await runCli(['enqueue', path, ...VOICE, '--wait', '--json', '--out', out], env, dir);
  const summary = JSON.parse(run.stdout) as { batches: Array<{ id: string }> };
  const rows = parse(await readFile(out, 'utf8'), { columns: true }) as Array<
    Record<string, string>
  >;
  return { code: run.code, batchId: summary.batches[0]?.id ?? '', rows };
}

describe('voxline download', () => {
  let batchId: string;
  const out = () => join(dir, 'audio');
  const files = { 1: 'opening.wav', 2: '2.wav', 4: 'ch_1_line_4.wav' } as const;

  it("writes each succeeded line's stored audio as <ref or line number>.<format>, byte-exact after upstream's links expired", async () => {
    const narrated = await narrate(
      'chapter.csv',
      [
        'text,ref',
        'A short line.,opening',
        '"A much longer line, which goes on for quite a while before it stops.",',
        'This one fails [[sim:task=1505]],doomed',
        'A line whose ref is not a file name.,../ch 1/line?4',
        '',
      ].join('\n'),
    );
    batchId = narrated.batchId;
    expect(narrated.rows.map((r) => r.status)).toEqual([
      'succeeded',
      'succeeded',
      'failed',
      'succeeded',
    ]);
    const clones = await clonesOf(batchId);
    // Upstream's links last a day: a day and a bit later they are gone, voxline's copy is not.
    clockOffset += DAY + 60_000;
    const upstream = clones[0]?.audio?.upstream_url ?? '';
    expect((await fetch(upstream)).status).toBe(410);

    const run = await runCli(['download', batchId, '--out', out(), '--json'], env, dir);
    expect(run.code, run.stderr).toBe(0);
    const summary = JSON.parse(run.stdout);
    expect(summary).toMatchObject({
      batch_id: batchId,
      dir: out(),
      without_audio: 1,
      skipped: [],
      failed: [],
    });
    expect(summary.files.map((f: { file: string }) => f.file)).toEqual(Object.values(files));
    expect((await readdir(out())).sort()).toEqual(['2.wav', 'ch_1_line_4.wav', 'opening.wav']);

    const sizes: number[] = [];
    for (const [line, name] of Object.entries(files)) {
      const clone = clones[Number(line) - 1];
      const written = await readFile(join(out(), name));
      expect(sha256(written), name).toBe(clone?.audio?.sha256);
      expect(clone?.audio?.format).toBe('wav');
      const served = Buffer.from(await (await api(`/v1/clones/${clone?.id}/audio`)).arrayBuffer());
      expect(written.equals(served), name).toBe(true);
      expect(written.toString('ascii', 0, 4)).toBe('RIFF');
      sizes.push(written.length);
    }
    // Spoken, so the longer line is the longer file.
    expect(sizes[1]).toBeGreaterThan((sizes[0] ?? 0) * 2);
    expect(sim.audio()).toMatchObject({ synth: 'espeak-ng' });
  });

  it('leaves files already there with the same SHA-256 and fetches a changed one again', async () => {
    const again = await runCli(['download', batchId, '--out', out(), '--json'], env, dir);
    expect(again.code, again.stderr).toBe(0);
    const first = JSON.parse(again.stdout);
    expect(first.files).toEqual([]);
    expect(first.skipped.map((f: { file: string }) => f.file)).toEqual(Object.values(files));

    const changed = join(out(), files[2]);
    const original = await readFile(changed);
    await writeFile(changed, 'not the stored audio');
    const repaired = await runCli(['download', batchId, '--out', out()], env, dir);
    expect(repaired.code, repaired.stderr).toBe(0);
    expect(repaired.stdout).toContain('1 files written to');
    expect(repaired.stdout).toContain('2 files already there with the same SHA-256');
    expect((await readFile(changed)).equals(original)).toBe(true);
    expect((await readdir(out())).sort()).toEqual(['2.wav', 'ch_1_line_4.wav', 'opening.wav']);
  });

  it("names the lines whose audio cannot be had: purged from the store, or only upstream's expired link", async () => {
    const { batchId: id } = await narrate('old.txt', 'Purged long ago.\nFrom before the store.\n');
    const [purged, legacy] = await clonesOf(id);
    // As the retention job leaves a purged file, and as rows from before the store look.
    await stack.db.pool.query(
      'update audio_results set purged_at = now() where clone_job_id = $1',
      [purged?.id],
    );
    await stack.db.pool.query(
      `update audio_results
          set storage_key = null, sha256 = null, bytes = null, format = null, archived_at = null
        where clone_job_id = $1`,
      [legacy?.id],
    );
    clockOffset += DAY + 60_000;

    const target = join(dir, 'old');
    const run = await runCli(['download', id, '--out', target], env, dir);
    expect(run.code).toBe(1);
    expect(run.stderr).toContain('error: download_failed: 2 of 2 files could not be downloaded');
    expect(run.stderr).toContain('  - line 1: HTTP 410: the audio was purged');
    expect(run.stderr).toContain('  - line 2: HTTP 410: the link expired');
    expect(await readdir(target)).toEqual([]);
  });

  it('refuses a missing --out and an unknown batch', async () => {
    const missing = await runCli(['download', '0193c3d6-5c7e-7a51-9f0e-2b8f4c1d9e21'], env, dir);
    expect(missing.code).toBe(1);
    expect(missing.stderr).toMatch(/--out <dir>/);
    const unknown = await runCli(
      ['download', '0193c3d6-5c7e-7a51-9f0e-2b8f4c1d9e21', '--out', join(dir, 'none')],
      env,
      dir,
    );
    expect(unknown.code).toBe(1);
    expect(unknown.stderr).toMatch(/not found/);
  });
});
