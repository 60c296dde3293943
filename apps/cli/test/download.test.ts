import { readdir, readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import type { SimulatorHandle } from '@voxline/runninghub-sim';
import { parse } from 'csv-parse/sync';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { runCli } from './cli.js';
import { type CliStack, startCliStack, VOICE } from './stack.js';

/**
 * `voxline download BATCH --out DIR` against the built stack (`voxline start`) and a simulator
 * in this process that speaks with espeak-ng (installed by CI, .ci/run).
 */

let stack: CliStack;
let sim: SimulatorHandle;
let dir: string;
let env: Record<string, string>;

beforeAll(async () => {
  stack = await startCliStack('download', (dir) => ({
    synth: 'espeak-ng',
    filesDir: join(dir, 'sim'),
  }));
  ({ sim, dir, env } = stack);
});

afterAll(() => stack?.close());

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
  it("writes each line's audio as <ref or line number>.<type>, the bytes the link serves", async () => {
    const { batchId, rows } = await narrate(
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
    expect(rows.map((r) => r.status)).toEqual(['succeeded', 'succeeded', 'failed', 'succeeded']);
    const out = join(dir, 'audio');
    const run = await runCli(['download', batchId, '--out', out, '--json'], env, dir);
    expect(run.code, run.stderr).toBe(0);
    const summary = JSON.parse(run.stdout);
    expect(summary).toMatchObject({ batch_id: batchId, dir: out, without_audio: 1, failed: [] });
    expect((await readdir(out)).sort()).toEqual(['2.wav', 'ch_1_line_4.wav', 'opening.wav']);

    const files = { 1: 'opening.wav', 2: '2.wav', 4: 'ch_1_line_4.wav' } as const;
    const sizes: number[] = [];
    for (const [line, name] of Object.entries(files)) {
      const written = await readFile(join(out, name));
      const url = rows[Number(line) - 1]?.audio_url ?? '';
      const served = Buffer.from(await (await fetch(url)).arrayBuffer());
      expect(written.equals(served), name).toBe(true);
      expect(written.toString('ascii', 0, 4)).toBe('RIFF');
      sizes.push(written.length);
    }
    // Spoken, so the longer line is the longer file.
    expect(sizes[1]).toBeGreaterThan((sizes[0] ?? 0) * 2);
    expect(sim.audio()).toMatchObject({ synth: 'espeak-ng' });
  });

  it('fails naming the lines whose links expired', async () => {
    sim.setScenario({ linkTtlMs: 1 });
    try {
      const { batchId } = await narrate('expired.txt', 'Gone soon.\nGone too.\n');
      const out = join(dir, 'expired');
      const run = await runCli(['download', batchId, '--out', out], env, dir);
      expect(run.code).toBe(1);
      expect(run.stderr).toContain('error: download_failed: 2 of 2 files could not be downloaded');
      expect(run.stderr).toContain('  - line 1: HTTP 410: the link expired');
      expect(await readdir(out)).toEqual([]);
    } finally {
      sim.setScenario({ linkTtlMs: 24 * 3_600_000 });
    }
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
