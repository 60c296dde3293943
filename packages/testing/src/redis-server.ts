import { type ChildProcess, spawn } from 'node:child_process';
import { mkdir, mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { freePort, listens } from './net.js';
import { waitFor } from './wait.js';

export interface RedisServerOptions {
  /**
   * A Redis Cluster node (not yet joined to any cluster: see startRedisCluster). Its cluster bus
   * gets a free port of its own: the default, port + 10000, may be taken or past 65535.
   */
  clusterNode?: { nodeTimeoutMs: number };
}

/**
 * A private redis-server on a free port, for tests and scenarios that restart Redis or need odd
 * settings (the shared test Redis cannot be restarted under other test files). It can be
 * stopped and started again on the same port and directory, so an append-only file it keeps is
 * read back, or wiped.
 */
export class ThrowawayRedis {
  #child: ChildProcess | null = null;

  private constructor(
    readonly port: number,
    readonly dir: string,
    private readonly args: string[],
  ) {}

  get url(): string {
    return `redis://127.0.0.1:${this.port}`;
  }

  /** `args` are redis-server options, e.g. ['--appendonly', 'yes']. */
  static async start(
    args: string[] = [],
    options: RedisServerOptions = {},
  ): Promise<ThrowawayRedis> {
    const port = await freePort();
    const dir = await mkdtemp(join(tmpdir(), 'voxline-redis-'));
    const cluster = options.clusterNode
      ? [
          '--cluster-enabled',
          'yes',
          '--cluster-port',
          String(await freePort()),
          '--cluster-config-file',
          'nodes.conf',
          '--cluster-node-timeout',
          String(options.clusterNode.nodeTimeoutMs),
          '--appendonly',
          'no',
        ]
      : [];
    const server = new ThrowawayRedis(port, dir, [...cluster, ...args]);
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

/** A private redis-server on a free port: see ThrowawayRedis. */
export function startRedisServer(
  args: string[] = [],
  options: RedisServerOptions = {},
): Promise<ThrowawayRedis> {
  return ThrowawayRedis.start(args, options);
}
