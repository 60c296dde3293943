import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { NodeProcess } from '../src/process.js';

describe('a spawned process and its log', () => {
  const dir = mkdtempSync(join(tmpdir(), 'voxline-process-'));
  afterAll(() => rmSync(dir, { recursive: true, force: true }));

  it('reads only its own output when the log already holds an earlier run', async () => {
    // A rerun in the same folder (the bench's numbered logs) finds the last run's "started"
    // line in the file: it must not pass for this run's readiness.
    const logFile = join(dir, 'worker.log');
    writeFileSync(logFile, 'worker started\n');
    const script = join(dir, 'slow-start.mjs');
    writeFileSync(
      script,
      "setTimeout(() => console.log('worker started'), 300);\nsetInterval(() => {}, 1000);\n",
    );
    const child = new NodeProcess({ name: 'slow', script, env: {}, logFile });
    expect(child.output()).toBe('');
    await child.waitForOutput('worker started', 10_000);
    expect(child.output()).toBe('worker started\n');
    child.child.kill('SIGKILL');
    await child.exited;
  });
});
