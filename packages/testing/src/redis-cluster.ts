import { execFile } from 'node:child_process';
import { promisify } from 'node:util';
import { Redis } from 'ioredis';
import { startRedisServer, type ThrowawayRedis } from './redis-server.js';
import { waitFor } from './wait.js';

const run = promisify(execFile);

// How long a silent master is given before its replica is elected; short, so a test that kills
// one does not wait long, and long enough that a loaded machine does not fail over by itself.
const NODE_TIMEOUT_MS = 3_000;

export interface ClusterNodeView {
  id: string;
  port: number;
  role: 'master' | 'replica';
  /** The master's id, for a replica. */
  masterId: string | null;
  /** Slot ranges served, for a master. */
  slots: Array<[number, number]>;
}

export interface ThrowawayCluster {
  nodes: ThrowawayRedis[];
  /** `host:port,...` of every node: what REDIS_CLUSTER_NODES takes. */
  seeds: string;
  /** The slot `key` hashes to (its hash tag, when it has one). */
  keySlot(key: string): Promise<number>;
  /** The cluster as the node on `port` (any node by default) sees it now. */
  topology(port?: number): Promise<ClusterNodeView[]>;
  /** The port of the master serving `key`'s slot. */
  masterOf(key: string): Promise<number>;
  /**
   * Promotes a replica of the master serving `key` (CLUSTER FAILOVER, which waits for the
   * replica to catch up, so no acknowledged write is lost) and resolves once every node agrees.
   */
  failover(key: string): Promise<{ from: number; to: number }>;
  stop(): Promise<void>;
}

function parseNodes(text: string): ClusterNodeView[] {
  return text
    .trim()
    .split('\n')
    .map((line) => {
      const [id, address, flags, masterId, , , , , ...slots] = line.split(' ');
      const port = Number((address ?? '').split('@')[0]?.split(':').pop());
      const role = (flags ?? '').includes('master') ? 'master' : 'replica';
      return {
        id: id ?? '',
        port,
        role,
        masterId: masterId && masterId !== '-' ? masterId : null,
        slots: slots
          .filter((s) => !s.startsWith('['))
          .map((s) => {
            const [from, to] = s.split('-').map(Number);
            return [from as number, (to ?? from) as number] as [number, number];
          }),
      };
    });
}

/**
 * A private Redis Cluster of `masters` masters with `replicas` replicas each, every node a
 * redis-server from startRedisServer on its own free port and directory.
 */
export async function startRedisCluster(
  options: { masters?: number; replicas?: number } = {},
): Promise<ThrowawayCluster> {
  const masters = options.masters ?? 3;
  const replicas = options.replicas ?? 1;
  const nodes = await Promise.all(
    Array.from({ length: masters * (1 + replicas) }, () =>
      startRedisServer([], { clusterNode: { nodeTimeoutMs: NODE_TIMEOUT_MS } }),
    ),
  );
  const clients = new Map<number, Redis>();
  const client = (port: number) => {
    let c = clients.get(port);
    if (!c) {
      c = new Redis({ host: '127.0.0.1', port, lazyConnect: false, maxRetriesPerRequest: 1 });
      c.on('error', () => {});
      clients.set(port, c);
    }
    return c;
  };
  const stop = async () => {
    for (const c of clients.values()) c.disconnect();
    await Promise.all(nodes.map((n) => n.stop()));
  };

  try {
    await run(
      'redis-cli',
      [
        '--cluster',
        'create',
        ...nodes.map((n) => `127.0.0.1:${n.port}`),
        '--cluster-replicas',
        String(replicas),
        '--cluster-yes',
      ],
      { timeout: 60_000 },
    );
  } catch (error) {
    await stop();
    throw error;
  }

  const topology = async (port = nodes[0]?.port as number) =>
    parseNodes(String(await client(port).call('CLUSTER', 'NODES')));
  const everyNodeSees = async (predicate: (view: ClusterNodeView[]) => boolean) => {
    for (const node of nodes) {
      const info = String(await client(node.port).call('CLUSTER', 'INFO'));
      if (!/cluster_state:ok/.test(info) || !predicate(await topology(node.port))) return false;
    }
    return true;
  };
  const replicasLinked = async () => {
    for (const view of await topology()) {
      if (view.role !== 'replica') continue;
      const info = await client(view.port).info('replication');
      if (!/master_link_status:up/.test(info)) return false;
    }
    return true;
  };
  const keySlot = async (key: string) =>
    Number(await client(nodes[0]?.port as number).call('CLUSTER', 'KEYSLOT', key));
  const masterOf = async (key: string) => {
    const slot = await keySlot(key);
    const owner = (await topology()).find(
      (n) => n.role === 'master' && n.slots.some(([a, b]) => slot >= a && slot <= b),
    );
    if (!owner) throw new Error(`no master serves slot ${slot}`);
    return owner.port;
  };

  try {
    await waitFor(
      'every cluster node to agree on the masters and their replicas',
      async () =>
        (await everyNodeSees(
          (view) =>
            view.filter((n) => n.role === 'master').length === masters &&
            view.filter((n) => n.role === 'replica').length === masters * replicas,
        )) && (await replicasLinked()),
      { timeoutMs: 60_000, intervalMs: 200 },
    );
  } catch (error) {
    await stop();
    throw error;
  }

  return {
    nodes,
    seeds: nodes.map((n) => `127.0.0.1:${n.port}`).join(','),
    keySlot,
    topology,
    masterOf,
    async failover(key) {
      const from = await masterOf(key);
      const view = await topology();
      const master = view.find((n) => n.port === from);
      const replica = view.find((n) => n.role === 'replica' && n.masterId === master?.id);
      if (!replica) throw new Error(`the master on ${from} has no replica`);
      await waitFor('the replica to be in sync', replicasLinked, { timeoutMs: 30_000 });
      await client(replica.port).call('CLUSTER', 'FAILOVER');
      await waitFor(
        `every node to see ${replica.port} as the master of ${key}`,
        async () => {
          const slot = await keySlot(key);
          return everyNodeSees((v) =>
            v.some(
              (n) =>
                n.port === replica.port &&
                n.role === 'master' &&
                n.slots.some(([a, b]) => slot >= a && slot <= b),
            ),
          );
        },
        { timeoutMs: 60_000, intervalMs: 100 },
      );
      return { from, to: replica.port };
    },
    stop,
  };
}
