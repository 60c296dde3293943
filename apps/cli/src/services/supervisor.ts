import { type ChildProcess, spawn } from 'node:child_process';
import { createInterface } from 'node:readline';

export interface ChildExit {
  name: string;
  code: number | null;
  signal: NodeJS.Signals | null;
}

interface Service {
  name: string;
  child: ChildProcess;
  exited: Promise<ChildExit>;
  done: boolean;
}

export interface SupervisorOptions {
  /** Each line a service prints, already split; the caller formats and shows it. */
  onLine: (service: string, line: string) => void;
  /** How long a service may take to stop after SIGTERM before it is killed. */
  stopTimeoutMs: number;
}

/**
 * Runs the services as child processes and stops them. Each child gets its own process group
 * (`detached`), so a Ctrl-C at the terminal reaches only this process, which then stops the
 * children once, in order, with SIGTERM: two signals would make them skip their graceful
 * shutdown. A child that exits while nobody asked it to is reported through `failure`.
 */
export class Supervisor {
  private readonly services: Service[] = [];
  private stopping = false;
  private rejectFailure: ((exit: ChildExit) => void) | null = null;
  /** Settles with the first child that exits on its own, never while stopping. */
  readonly failure: Promise<never>;

  constructor(private readonly options: SupervisorOptions) {
    this.failure = new Promise<never>((_, reject) => {
      this.rejectFailure = reject;
    });
    // Nobody may be listening yet; the rejection is still seen by whoever awaits it later.
    this.failure.catch(() => {});
    // Last resort for an exit that skipped stop() (an uncaught error): no orphans.
    process.once('exit', () => this.killAll());
  }

  start(
    name: string,
    script: string,
    env: Record<string, string>,
    nodeArgs: readonly string[] = [],
  ): ChildProcess {
    const child = spawn(process.execPath, [...nodeArgs, script], {
      env,
      stdio: ['ignore', 'pipe', 'pipe'],
      detached: true,
    });
    for (const stream of [child.stdout, child.stderr]) {
      if (!stream) continue;
      createInterface({ input: stream, crlfDelay: Number.POSITIVE_INFINITY }).on('line', (line) =>
        this.options.onLine(name, line),
      );
    }
    const service: Service = {
      name,
      child,
      done: false,
      exited: new Promise<ChildExit>((resolve) => {
        const finish = (code: number | null, signal: NodeJS.Signals | null) => {
          if (service.done) return;
          service.done = true;
          const exit = { name, code, signal };
          if (!this.stopping) this.rejectFailure?.(exit);
          resolve(exit);
        };
        child.once('exit', finish);
        // Could not be spawned at all (no such file is an exit 1 of node, not this).
        child.once('error', () => finish(null, null));
      }),
    };
    this.services.push(service);
    return child;
  }

  /** The services still running, with their process ids. */
  running(): Array<{ name: string; pid: number }> {
    return this.services.flatMap((s) =>
      s.child.pid && !s.done ? [{ name: s.name, pid: s.child.pid }] : [],
    );
  }

  private async stopOne(service: Service): Promise<boolean> {
    if (service.done) {
      const exit = await service.exited;
      return exit.code === 0;
    }
    service.child.kill('SIGTERM');
    const timer = setTimeout(() => {
      this.options.onLine('voxline', `${service.name} did not stop in time; killing it`);
      service.child.kill('SIGKILL');
    }, this.options.stopTimeoutMs);
    const exit = await service.exited;
    clearTimeout(timer);
    return exit.code === 0;
  }

  /**
   * Stops every service: `first` together, then the rest (the simulator last, so workers can
   * finish the calls they are making to it). True when each one exited with status 0.
   */
  async stop(first: string[]): Promise<boolean> {
    this.stopping = true;
    const early = this.services.filter((s) => first.includes(s.name));
    const late = this.services.filter((s) => !first.includes(s.name));
    const a = await Promise.all(early.map((s) => this.stopOne(s)));
    const b = await Promise.all(late.map((s) => this.stopOne(s)));
    return [...a, ...b].every(Boolean);
  }

  /** A second Ctrl-C: no more waiting. */
  killAll(): void {
    this.stopping = true;
    for (const s of this.services) if (!s.done) s.child.kill('SIGKILL');
  }
}
