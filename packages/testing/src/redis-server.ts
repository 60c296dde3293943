import { type ChildProcess, spawn } from 'node:child_process';
import { mkdtemp } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { freePort, listens } from './net.js';
import { waitFor } from './wait.js';

export interface ThrowawayRedis {
  url: string;
  port: number;
  process: ChildProcess;
  stop(): Promise<void>;
}

export interface RedisServerOptions {
  /**
   * A Redis Cluster node (not yet joined to any cluster: see startRedisCluster). Its cluster bus
   * gets a free port of its own: the default, port + 10000, may be taken or past 65535.
   */
  clusterNode?: { nodeTimeoutMs: number };
}

/** A private redis-server on a free port, for tests that restart Redis or need odd settings. */
export async function startRedisServer(
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
  const child = spawn(
    'redis-server',
    [
      '--port',
      String(port),
      '--bind',
      '127.0.0.1',
      '--dir',
      dir,
      '--save',
      '',
      ...cluster,
      ...args,
    ],
    {
      stdio: 'ignore',
    },
  );
  const url = `redis://127.0.0.1:${port}`;
  await waitFor(`redis-server on ${port}`, () => listens('127.0.0.1', port, 200), {
    timeoutMs: 10_000,
  });
  return {
    url,
    port,
    process: child,
    async stop() {
      if (child.exitCode !== null) return;
      const exited = new Promise((r) => child.once('exit', r));
      child.kill('SIGTERM');
      await exited;
    },
  };
}
