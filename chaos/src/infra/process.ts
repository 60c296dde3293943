import { type ChildProcess, spawn } from 'node:child_process';
import { createWriteStream, existsSync, type WriteStream } from 'node:fs';
import { fileURLToPath } from 'node:url';

/** The built entry points the scenarios run as real processes. */
export const ENTRY_POINTS = {
  api: fileURLToPath(new URL('../../../apps/api/dist/main.js', import.meta.url)),
  worker: fileURLToPath(new URL('../../../apps/worker/dist/main.js', import.meta.url)),
} as const;

export function assertBuilt(): void {
  for (const [name, path] of Object.entries(ENTRY_POINTS)) {
    if (!existsSync(path)) {
      throw new Error(`${path} is missing: run \`pnpm build\` first (the ${name} runs built)`);
    }
  }
}

export interface Exit {
  code: number | null;
  signal: NodeJS.Signals | null;
}

/**
 * A node process of ours, its stdout and stderr kept whole (the secrets check greps them) and
 * copied to a file for reading after a failed run.
 */
export class NodeProcess {
  readonly child: ChildProcess;
  readonly exited: Promise<Exit>;
  readonly startedAt = Date.now();
  #output: string[] = [];
  #file: WriteStream;
  #listeners = new Set<(chunk: string) => void>();
  #exit: Exit | null = null;

  constructor(
    readonly name: string,
    script: string,
    env: Record<string, string>,
    logFile: string,
  ) {
    this.#file = createWriteStream(logFile, { flags: 'a' });
    // The environment is exactly what the scenario gives: nothing leaks in from the shell.
    this.child = spawn(process.execPath, [script], { env, stdio: ['ignore', 'pipe', 'pipe'] });
    const take = (chunk: Buffer) => {
      const text = chunk.toString('utf8');
      this.#output.push(text);
      this.#file.write(text);
      for (const listener of this.#listeners) listener(text);
    };
    this.child.stdout?.on('data', take);
    this.child.stderr?.on('data', take);
    this.exited = new Promise<Exit>((resolve) => {
      this.child.once('exit', (code, signal) => {
        this.#exit = { code, signal };
        resolve(this.#exit);
      });
    });
    this.exited.then(() => this.#file.end());
  }

  get pid(): number {
    return this.child.pid ?? -1;
  }

  get running(): boolean {
    return this.#exit === null;
  }

  get exit(): Exit | null {
    return this.#exit;
  }

  output(): string {
    return this.#output.join('');
  }

  /** Resolves when a line containing `text` has been written (or already was). */
  waitForOutput(text: string, timeoutMs: number): Promise<void> {
    if (this.output().includes(text)) return Promise.resolve();
    return new Promise<void>((resolve, reject) => {
      let seen = '';
      const done = (error?: Error) => {
        clearTimeout(timer);
        this.#listeners.delete(listener);
        if (error) reject(error);
        else resolve();
      };
      const listener = (chunk: string) => {
        seen = (seen + chunk).slice(-(text.length + 65_536));
        if (seen.includes(text)) done();
      };
      const timer = setTimeout(
        () =>
          done(
            new Error(`${this.name} did not log "${text}" within ${timeoutMs} ms:\n${this.tail()}`),
          ),
        timeoutMs,
      );
      this.#listeners.add(listener);
      this.exited.then((exit) =>
        done(new Error(`${this.name} exited (${JSON.stringify(exit)}):\n${this.tail()}`)),
      );
    });
  }

  tail(chars = 4_000): string {
    return this.output().slice(-chars);
  }

  /** Sends `signal` and waits for the exit. */
  async stop(signal: NodeJS.Signals = 'SIGTERM'): Promise<Exit> {
    if (this.#exit) return this.#exit;
    this.child.kill(signal);
    return this.exited;
  }
}
