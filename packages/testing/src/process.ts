import { type ChildProcess, spawn } from 'node:child_process';
import { closeSync, existsSync, fstatSync, openSync, readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { WORKER_NODE_ARGS } from '@voxline/config';
import { waitFor } from './wait.js';

/** The built entry points that tests, chaos and bench run as real processes. */
export const ENTRY_POINTS = {
  api: fileURLToPath(new URL('../../../apps/api/dist/main.js', import.meta.url)),
  worker: fileURLToPath(new URL('../../../apps/worker/dist/main.js', import.meta.url)),
  sim: fileURLToPath(new URL('../../runninghub-sim/dist/main.js', import.meta.url)),
} as const;

/** Throws, naming the missing file, unless every entry point named is built. */
export function assertBuilt(names: Array<keyof typeof ENTRY_POINTS> = ['api', 'worker']): void {
  for (const name of names) {
    const path = ENTRY_POINTS[name];
    if (!existsSync(path)) {
      throw new Error(`${path} is missing: run \`pnpm build\` first (the ${name} runs built)`);
    }
  }
}

export interface Exit {
  code: number | null;
  signal: NodeJS.Signals | null;
}

export interface NodeProcessOptions {
  name: string;
  script: string;
  /** The whole environment: nothing leaks in from the caller's shell. */
  env: Record<string, string>;
  /** stdout and stderr go here (appended), for reading during and after the run. */
  logFile: string;
  nodeArgs?: string[];
  /** After a stop's signal, SIGKILL if it has not exited by then; unset waits as long as it takes. */
  killAfterMs?: number;
}

// A failing or interrupted runner must leave no process behind.
const live = new Set<NodeProcess>();
let hooked = false;
function hookExit(): void {
  if (hooked) return;
  hooked = true;
  process.on('exit', () => {
    for (const child of live) child.child.kill('SIGKILL');
  });
}

/**
 * A node process of ours, its stdout and stderr written straight to its log file (the runner
 * spends no CPU copying them), read back for readiness, secrets checks and failure reports.
 */
export class NodeProcess {
  readonly name: string;
  readonly logFile: string;
  readonly child: ChildProcess;
  readonly exited: Promise<Exit>;
  readonly startedAt = Date.now();
  readonly #killAfterMs: number | undefined;
  /** Where this process's output starts in its log: an earlier run's lines are not its own. */
  readonly #logStart: number;
  #exit: Exit | null = null;

  constructor(options: NodeProcessOptions) {
    hookExit();
    this.name = options.name;
    this.logFile = options.logFile;
    this.#killAfterMs = options.killAfterMs;
    const fd = openSync(options.logFile, 'a');
    this.#logStart = fstatSync(fd).size;
    this.child = spawn(process.execPath, [...(options.nodeArgs ?? []), options.script], {
      env: options.env,
      stdio: ['ignore', fd, fd],
    });
    closeSync(fd);
    live.add(this);
    this.exited = new Promise<Exit>((resolve) => {
      this.child.once('exit', (code, signal) => {
        live.delete(this);
        this.#exit = { code, signal };
        resolve(this.#exit);
      });
    });
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
    try {
      // A stale "started" line from a run before would otherwise pass for this one's readiness.
      return readFileSync(this.logFile).subarray(this.#logStart).toString('utf8');
    } catch {
      return '';
    }
  }

  tail(chars = 4_000): string {
    return this.output().slice(-chars);
  }

  /** Resolves once `check` holds; fails at once, with the log's tail, if the process exits. */
  async waitReady(
    label: string,
    check: () => Promise<boolean> | boolean,
    timeoutMs = 60_000,
  ): Promise<void> {
    await waitFor(
      `${this.name} to be ready (${label})`,
      async () => {
        if (this.#exit) {
          throw new Error(`${this.name} exited (${JSON.stringify(this.#exit)}) while starting`);
        }
        return check();
      },
      { timeoutMs, intervalMs: 50 },
    ).catch((error: Error) => {
      throw new Error(`${error.message}\n${this.name} log tail:\n${this.tail()}`);
    });
  }

  /** Resolves when `text` has been written to the log (or already was). */
  waitForOutput(text: string, timeoutMs: number): Promise<void> {
    return this.waitReady(`log "${text}"`, () => this.output().includes(text), timeoutMs);
  }

  /** Sends `signal` and waits for the exit (SIGKILL after `killAfterMs`, when set). */
  async stop(signal: NodeJS.Signals = 'SIGTERM'): Promise<Exit> {
    if (this.#exit) return this.#exit;
    this.child.kill(signal);
    const timer =
      this.#killAfterMs === undefined
        ? null
        : setTimeout(() => this.child.kill('SIGKILL'), this.#killAfterMs);
    const exit = await this.exited;
    if (timer) clearTimeout(timer);
    return exit;
  }
}

/** Stops every process still running, each with its own stop. */
export async function stopAll(signal: NodeJS.Signals = 'SIGTERM'): Promise<void> {
  await Promise.all([...live].map((child) => child.stop(signal)));
}

/** True when `url` answers 2xx within two seconds. */
export async function httpOk(url: string, headers: Record<string, string> = {}): Promise<boolean> {
  try {
    const res = await fetch(url, { headers, signal: AbortSignal.timeout(2_000) });
    await res.arrayBuffer();
    return res.ok;
  } catch {
    return false;
  }
}

/** Spawns `script` and waits for `ready`; a process that never gets ready is killed. */
async function started(
  options: NodeProcessOptions,
  ready: (child: NodeProcess) => Promise<void>,
): Promise<NodeProcess> {
  const child = new NodeProcess(options);
  try {
    await ready(child);
  } catch (error) {
    await child.stop('SIGKILL');
    throw error;
  }
  return child;
}

/** The API on `env.PORT`, ready once GET /healthz answers. */
export function startApi(options: Omit<NodeProcessOptions, 'script'>): Promise<NodeProcess> {
  const url = `http://${options.env.HOST ?? '127.0.0.1'}:${options.env.PORT}/healthz`;
  return started({ ...options, script: ENTRY_POINTS.api }, (api) =>
    api.waitReady('GET /healthz', () => httpOk(url)),
  );
}

/** A worker, ready once it logs that it started (after its queues and metrics port are up). */
export function startWorker(options: Omit<NodeProcessOptions, 'script'>): Promise<NodeProcess> {
  const nodeArgs = [...WORKER_NODE_ARGS, ...(options.nodeArgs ?? [])];
  return started({ ...options, nodeArgs, script: ENTRY_POINTS.worker }, (worker) =>
    worker.waitForOutput('"msg":"worker started"', 60_000),
  );
}
