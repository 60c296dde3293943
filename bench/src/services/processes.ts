import { type ChildProcess, spawn } from 'node:child_process';
import { closeSync, openSync, readFileSync } from 'node:fs';
import { waitFor } from '@voxline/testing/wait';

/**
 * Child processes (API, workers) started by the bench. Every child is tracked from spawn to
 * exit; `stopAll` ends them gracefully, and an `exit` hook SIGKILLs whatever is still alive, so
 * a failing or interrupted bench leaves no process behind.
 */
export interface Child {
  name: string;
  pid: number;
  process: ChildProcess;
  logPath: string;
  exited: Promise<number | null>;
  /** SIGTERM, then SIGKILL after `timeoutMs`; resolves with the exit code (null if killed). */
  stop(timeoutMs?: number): Promise<number | null>;
}

const live = new Set<Child>();
let hooked = false;

function hookExit(): void {
  if (hooked) return;
  hooked = true;
  process.on('exit', () => {
    for (const child of live) child.process.kill('SIGKILL');
  });
}

export function spawnNode(
  name: string,
  script: string,
  env: Record<string, string>,
  options: { nodeArgs?: string[]; logPath: string },
): Child {
  hookExit();
  const fd = openSync(options.logPath, 'a');
  const proc = spawn(process.execPath, [...(options.nodeArgs ?? []), script], {
    env,
    stdio: ['ignore', fd, fd],
  });
  closeSync(fd);
  if (proc.pid === undefined) throw new Error(`could not start ${name} (${script})`);
  const exited = new Promise<number | null>((resolve) => {
    proc.once('exit', (code) => {
      live.delete(child);
      resolve(code);
    });
  });
  const child: Child = {
    name,
    pid: proc.pid,
    process: proc,
    logPath: options.logPath,
    exited,
    async stop(timeoutMs = 15_000) {
      if (proc.exitCode !== null || proc.signalCode !== null) return proc.exitCode;
      proc.kill('SIGTERM');
      const timer = setTimeout(() => proc.kill('SIGKILL'), timeoutMs);
      const code = await exited;
      clearTimeout(timer);
      return code;
    },
  };
  live.add(child);
  return child;
}

export async function stopAll(): Promise<void> {
  await Promise.all([...live].map((child) => child.stop()));
}

/** Fails fast with the child's log tail when it died while we were waiting for it. */
export async function waitReady(child: Child, label: string, check: () => Promise<boolean>) {
  await waitFor(
    `${child.name} to be ready (${label})`,
    async () => {
      if (child.process.exitCode !== null || child.process.signalCode !== null) {
        const tail = readFileSync(child.logPath, 'utf8').split('\n').slice(-20).join('\n');
        throw new Error(
          `${child.name} exited (${child.process.exitCode}) while starting:\n${tail}`,
        );
      }
      return check();
    },
    { timeoutMs: 60_000, intervalMs: 100 },
  ).catch((error: Error) => {
    if (error.message.includes('exited')) throw error;
    const tail = readFileSync(child.logPath, 'utf8').split('\n').slice(-20).join('\n');
    throw new Error(`${error.message}\n${child.name} log tail:\n${tail}`);
  });
}

export async function httpOk(url: string, headers: Record<string, string> = {}): Promise<boolean> {
  try {
    const res = await fetch(url, { headers, signal: AbortSignal.timeout(2_000) });
    await res.arrayBuffer();
    return res.ok;
  } catch {
    return false;
  }
}

// --- resource sampling -------------------------------------------------------------------

/** Resident set size of a process, from /proc/<pid>/status (VmRSS), in bytes. */
export function rssOf(pid: number): number | null {
  try {
    const status = readFileSync(`/proc/${pid}/status`, 'utf8');
    const kb = /^VmRSS:\s+(\d+)\s+kB/m.exec(status)?.[1];
    return kb === undefined ? null : Number(kb) * 1024;
  } catch {
    return null;
  }
}

// Linux reports CPU time in clock ticks; 100 per second on every mainstream distribution.
const TICKS_PER_SECOND = 100;

/** User + system CPU seconds a process has used, from /proc/<pid>/stat. */
export function cpuSecondsOf(pid: number): number | null {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    // The command name is in parentheses and may hold spaces: fields start after the last ')'.
    const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
    const utime = Number(fields[11]);
    const stime = Number(fields[12]);
    return (utime + stime) / TICKS_PER_SECOND;
  } catch {
    return null;
  }
}

/** Busy and total CPU seconds of the whole machine (all cores), from /proc/stat. */
export function machineCpu(): { busy: number; total: number } {
  const line = readFileSync('/proc/stat', 'utf8').split('\n')[0] ?? '';
  const ticks = line.trim().split(/\s+/).slice(1).map(Number);
  const total = ticks.reduce((a, b) => a + b, 0);
  const idle = (ticks[3] ?? 0) + (ticks[4] ?? 0);
  return { busy: (total - idle) / TICKS_PER_SECOND, total: total / TICKS_PER_SECOND };
}

/** Samples RSS of some processes every `intervalMs` until stopped; keeps every sample. */
export class RssSampler {
  readonly samples = new Map<string, number[]>();
  #timer: NodeJS.Timeout | null = null;

  constructor(
    private readonly targets: Array<{ name: string; pid: number }>,
    private readonly intervalMs = 250,
  ) {
    for (const t of targets) this.samples.set(t.name, []);
  }

  start(): this {
    this.sample();
    this.#timer = setInterval(() => this.sample(), this.intervalMs);
    return this;
  }

  sample(): void {
    for (const t of this.targets) {
      const rss = rssOf(t.pid);
      if (rss !== null) this.samples.get(t.name)?.push(rss);
    }
  }

  /** Samples taken since the last `take`, and clears them. */
  take(): Map<string, number[]> {
    const out = new Map([...this.samples].map(([k, v]) => [k, [...v]]));
    for (const v of this.samples.values()) v.length = 0;
    return out;
  }

  stop(): void {
    if (this.#timer) clearInterval(this.#timer);
    this.#timer = null;
  }
}
