import { type ChildProcess, spawn } from 'node:child_process';
import { existsSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { assertBuilt as assertServicesBuilt, waitFor } from '@voxline/testing';

/** The built CLI: these tests run the real binary, as a person or a script would. */
export const CLI = fileURLToPath(new URL('../dist/main.js', import.meta.url));

export function assertBuilt(): void {
  if (!existsSync(CLI)) {
    throw new Error(`${CLI} is missing: run \`pnpm build\` first (\`pnpm test\` does)`);
  }
  assertServicesBuilt(['api', 'worker', 'sim']);
}

export interface CliRun {
  code: number | null;
  signal: NodeJS.Signals | null;
  stdout: string;
  stderr: string;
}

/**
 * A running `voxline` process. Its environment is only what the test passes: no variable of
 * the machine running the tests leaks into it.
 */
export class CliProcess {
  readonly child: ChildProcess;
  stdout = '';
  stderr = '';
  readonly exited: Promise<CliRun>;

  constructor(args: string[], env: Record<string, string>, cwd?: string) {
    this.child = spawn(process.execPath, [CLI, ...args], {
      env,
      cwd,
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    this.child.stdout?.setEncoding('utf8').on('data', (d: string) => {
      this.stdout += d;
    });
    this.child.stderr?.setEncoding('utf8').on('data', (d: string) => {
      this.stderr += d;
    });
    this.exited = new Promise((resolve) => {
      this.child.once('close', (code, signal) =>
        resolve({ code, signal, stdout: this.stdout, stderr: this.stderr }),
      );
    });
  }

  get output(): string {
    return this.stdout + this.stderr;
  }

  /** Waits until the output matches; fails with the output so far. */
  async waitForOutput(pattern: RegExp, timeoutMs = 60_000): Promise<RegExpMatchArray> {
    let exited = false;
    void this.exited.then(() => {
      exited = true;
    });
    try {
      return await waitFor(
        `output matching ${pattern}`,
        () => {
          const match = this.output.match(pattern);
          if (match) return match;
          if (exited) throw new Error('the CLI exited');
          return undefined;
        },
        { timeoutMs, intervalMs: 50 },
      );
    } catch (error) {
      throw new Error(`${(error as Error).message}\n--- output so far ---\n${this.output}`);
    }
  }
}

export function runCli(args: string[], env: Record<string, string>, cwd?: string): Promise<CliRun> {
  return new CliProcess(args, env, cwd).exited;
}

/** True while a process with this id exists. */
export function alive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
}

/** `sim 123, api 124, worker 125` from the ready block of `voxline start`. */
export function servicePids(output: string): Record<string, number> {
  const line = output.match(/processes\s+(.+)/)?.[1] ?? '';
  const pids: Record<string, number> = {};
  for (const part of line.split(',')) {
    const [name, pid] = part.trim().split(/\s+/);
    if (name && pid) pids[name] = Number(pid);
  }
  return pids;
}
