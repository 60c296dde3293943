import { Cluster } from 'ioredis';
import { type RedisClient, waitForRedis } from './connection.js';

export interface RedisReadiness {
  ok: boolean;
  maxmemoryPolicy: string | null;
  error?: string;
}

/**
 * Redis is ready for voxline when it answers and will never evict keys: an evicted BullMQ key
 * silently loses a job, so any `maxmemory-policy` but `noeviction` is refused. INFO is used
 * rather than CONFIG GET, which managed Redis services often disable. On a cluster every master
 * is asked: one evicting shard loses the jobs of the prefixes it holds.
 */
export async function checkRedisReadiness(redis: RedisClient): Promise<RedisReadiness> {
  try {
    // A producer connection does not queue commands while it (re)connects: give it a moment.
    await waitForRedis(redis, 2_000);
    const servers = redis instanceof Cluster ? redis.nodes('master') : [redis];
    const policies = await Promise.all(
      servers.map(async (server) => {
        const info = await server.info('memory');
        return /^maxmemory_policy:(\S+)/m.exec(info)?.[1] ?? null;
      }),
    );
    const policy = policies.find((p) => p !== 'noeviction') ?? policies[0] ?? null;
    if (policy !== 'noeviction') {
      return {
        ok: false,
        maxmemoryPolicy: policy,
        error: `Redis maxmemory-policy is ${policy ?? 'unknown'}; voxline requires noeviction`,
      };
    }
    return { ok: true, maxmemoryPolicy: policy };
  } catch (error) {
    return {
      ok: false,
      maxmemoryPolicy: null,
      error: `Redis unreachable: ${(error as Error).message}`,
    };
  }
}
