import { Cluster, type ClusterNode, Redis, type RedisOptions } from 'ioredis';

export type RedisRole = 'worker' | 'producer';

/** A connection to one Redis server or to a Redis Cluster; BullMQ and the slots take either. */
export type RedisClient = Redis | Cluster;

/** Where Redis is: a redis:// URL, or a cluster's seed nodes (the rest are discovered). */
export type RedisTarget = string | { cluster: ClusterNode[] };

/** The target a loaded config names: REDIS_CLUSTER_NODES when set, REDIS_URL otherwise. */
export function redisTarget(config: {
  REDIS_URL: string;
  REDIS_CLUSTER_NODES?: Array<{ host: string; port: number }> | undefined;
}): RedisTarget {
  return config.REDIS_CLUSTER_NODES ? { cluster: config.REDIS_CLUSTER_NODES } : config.REDIS_URL;
}

// Reconnect forever with a capped backoff: an outage delays work, it does not end the process.
const backoff = (times: number) => Math.min(times * 200, 2_000);

/**
 * Workers block on Redis and must ride out outages: BullMQ requires `maxRetriesPerRequest: null`
 * for them. Producers answer HTTP requests and must fail fast when Redis is down, so the API can
 * return 503 at once instead of hanging on an offline queue.
 */
export function createRedis(target: string, role: RedisRole, extra?: RedisOptions): Redis;
export function createRedis(
  target: RedisTarget,
  role: RedisRole,
  extra?: RedisOptions,
): RedisClient;
export function createRedis(
  target: RedisTarget,
  role: RedisRole,
  extra: RedisOptions = {},
): RedisClient {
  const options: RedisOptions =
    role === 'worker'
      ? { maxRetriesPerRequest: null, enableReadyCheck: true }
      : { maxRetriesPerRequest: 1, enableOfflineQueue: false, connectTimeout: 5_000 };
  const redis =
    typeof target === 'string'
      ? new Redis(target, { ...options, retryStrategy: backoff, ...extra })
      : new Cluster(target.cluster, {
          // Per-node options; the offline queue is the cluster's own (a producer fails fast).
          redisOptions: { ...options, enableOfflineQueue: true, ...extra },
          enableOfflineQueue: options.enableOfflineQueue ?? true,
          enableReadyCheck: true,
          // A failover answers MOVED, TRYAGAIN or CLUSTERDOWN for a moment; ioredis's defaults
          // retry those and follow the new master (apps/worker/test/cluster.test.ts).
          clusterRetryStrategy: backoff,
        });
  // ioredis emits 'error' on every failed reconnect; unhandled, that would crash the process.
  redis.on('error', () => {});
  return redis;
}

/** Resolves once the connection is ready; rejects after `timeoutMs`. */
export async function waitForRedis(redis: RedisClient, timeoutMs = 10_000): Promise<void> {
  if (redis.status === 'ready') return;
  await new Promise<void>((resolve, reject) => {
    const timer = setTimeout(() => {
      cleanup();
      reject(new Error(`Redis not ready after ${timeoutMs} ms`));
    }, timeoutMs);
    const onReady = () => {
      cleanup();
      resolve();
    };
    const cleanup = () => {
      clearTimeout(timer);
      redis.off('ready', onReady);
    };
    redis.on('ready', onReady);
  });
}
