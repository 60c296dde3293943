import { readFileSync } from 'node:fs';

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
