import { type ChildProcess, spawn } from 'node:child_process';
import { existsSync } from 'node:fs';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { loadConfig } from '@voxline/config';
import { waitFor } from '@voxline/testing';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { renderWav, type SimulatorHandle, simOptionsFromConfig } from '../src/index.js';
import { query, startWithClock, submit, validBody } from './helpers.js';

/**
 * Without a synthesizer the results are the tone, as before: when forced (SIM_SYNTH=tone), and
 * when espeak-ng is not installed (the built simulator run with a PATH that has none).
 */

const MAIN = fileURLToPath(new URL('../dist/main.js', import.meta.url));

let dir: string;
let sim: SimulatorHandle | undefined;
let child: ChildProcess | undefined;
beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'voxline-sim-tone-'));
});
afterEach(async () => {
  await sim?.close();
  sim = undefined;
  if (child && child.exitCode === null) {
    const exited = new Promise((resolve) => child?.once('close', resolve));
    child.kill('SIGTERM');
    await exited;
  }
  child = undefined;
});
afterAll(async () => {
  if (dir) await rm(dir, { recursive: true, force: true });
});

/** The built simulator with only the environment given: PATH is an empty folder. */
function standalone(env: Record<string, string>) {
  if (!existsSync(MAIN)) {
    throw new Error(`${MAIN} is missing: run \`pnpm build\` first (\`pnpm test\` does)`);
  }
  const proc = spawn(process.execPath, [MAIN], {
    env: { PATH: join(dir, 'empty-path'), SIM_PORT: '0', LOG_LEVEL: 'info', ...env },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  child = proc;
  let output = '';
  proc.stdout.setEncoding('utf8').on('data', (d: string) => {
    output += d;
  });
  proc.stderr.setEncoding('utf8').on('data', (d: string) => {
    output += d;
  });
  const exited = new Promise<number | null>((resolve) => proc.once('close', resolve));
  return { output: () => output, exited };
}

describe('the tone fallback', () => {
  it('is what SIM_SYNTH=tone gives, even with espeak-ng installed', async () => {
    const options = simOptionsFromConfig(loadConfig({ SIM_SYNTH: 'tone' }));
    expect(options.synth).toBe('tone');
    const started = await startWithClock({ synth: options.synth, filesDir: dir });
    sim = started.sim;
    const text = 'Forced to be a tone.';
    const id = String((await submit(sim, validBody({ text }))).json?.taskId);
    started.clock.now = (sim.task(id)?.finishesAt ?? 0) + 1;
    const answer = (await query(sim, id)).json ?? {};
    const [result] = answer.results as Array<{ url: string }>;
    const bytes = Buffer.from(await (await fetch(result?.url ?? '')).arrayBuffer());
    expect(bytes.equals(renderWav(id, text.length))).toBe(true);
    expect(sim.audio()).toMatchObject({ synth: 'tone', prefetched: 0 });
  });

  it('takes over when espeak-ng is not installed, and says so once at start', async () => {
    const run = standalone({
      SIM_BASE_DURATION_MS: '5',
      SIM_PER_CHAR_MS: '0',
      SIM_DURATION_SIGMA: '0',
      SIM_FILES_DIR: join(dir, 'standalone'),
    });
    const url = await waitFor(
      'the simulator to listen',
      () => run.output().match(/listening on (http:\/\/[\d.:]+)/)?.[1],
      { timeoutMs: 20_000 },
    );
    expect(run.output().match(/install espeak-ng to hear the text/g)).toHaveLength(1);
    const handle = { url } as SimulatorHandle;
    const text = 'Nobody here to speak this.';
    const id = String((await submit(handle, validBody({ text }))).json?.taskId);
    const result = await waitFor(
      'the task to succeed',
      async () => ((await query(handle, id)).json?.results as Array<{ url: string }> | null)?.[0],
      { timeoutMs: 10_000 },
    );
    const bytes = Buffer.from(await (await fetch(result.url)).arrayBuffer());
    expect(bytes.equals(renderWav(id, text.length))).toBe(true);
  });

  it('is refused when espeak-ng is demanded (SIM_SYNTH=espeak-ng) and missing', async () => {
    const run = standalone({ SIM_SYNTH: 'espeak-ng', SIM_FILES_DIR: join(dir, 'demanded') });
    expect(await run.exited).toBe(1);
    expect(run.output()).toMatch(/espeak-ng.*not installed: apt-get install espeak-ng/);
  });
});
