import { type ChildProcess, spawn } from 'node:child_process';
import { mkdir, mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { freePort, listens } from '@voxline/testing/net';
import { waitFor } from '@voxline/testing/wait';

/**
 * A redis-server of the scenario's own that can be stopped and started again on the same port
 * and directory (so its append-only file, when it keeps one, is read back), or wiped.
 * The shared test Redis cannot be restarted under other test files, hence this one.
 */
export class RedisServer {
  #child: ChildProcess | null = null;

  private constructor(
    readonly port: number,
    readonly dir: string,
    readonly args: string[],
  ) {}

  get url(): string {
    return `redis://127.0.0.1:${this.port}`;
  }

  /** `args` are redis-server options, e.g. ['--appendonly', 'yes']. */
  static async start(args: string[]): Promise<RedisServer> {
    const server = new RedisServer(
      await freePort(),
      await mkdtemp(join(tmpdir(), 'voxline-chaos-redis-')),
      args,
    );
    await server.start();
    return server;
  }

  async start(): Promise<void> {
    if (this.#child) throw new Error('redis-server is already running');
    const child = spawn(
      'redis-server',
      [
        '--port',
        String(this.port),
        '--bind',
        '127.0.0.1',
        '--dir',
        this.dir,
        '--save',
        '',
        // BullMQ needs it, and /readyz checks it: an evicted key is a lost job.
        '--maxmemory-policy',
        'noeviction',
        ...this.args,
      ],
      { stdio: 'ignore' },
    );
    child.once('error', () => {});
    this.#child = child;
    await waitFor(
      `redis-server on port ${this.port}`,
      async () => {
        if (child.exitCode !== null) throw new Error(`redis-server exited ${child.exitCode}`);
        return listens('127.0.0.1', this.port, 200);
      },
      { timeoutMs: 10_000 },
    );
  }

  /** SIGTERM lets Redis flush its append-only file; SIGKILL loses whatever was not on disk. */
  async stop(signal: NodeJS.Signals = 'SIGTERM'): Promise<void> {
    const child = this.#child;
    if (!child) return;
    this.#child = null;
    if (child.exitCode !== null || child.signalCode !== null) return;
    const exited = new Promise((resolve) => child.once('exit', resolve));
    child.kill(signal);
    await exited;
  }

  /** Stops it and deletes its files: the next start is an empty Redis. */
  async wipe(): Promise<void> {
    await this.stop('SIGKILL');
    await rm(this.dir, { recursive: true, force: true });
    await mkdir(this.dir, { recursive: true });
  }

  async close(): Promise<void> {
    await this.stop('SIGKILL');
    await rm(this.dir, { recursive: true, force: true });
  }
}
