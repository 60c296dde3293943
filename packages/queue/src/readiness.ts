import type { Redis } from 'ioredis';
import { waitForRedis } from './connection.js';

export interface RedisReadiness {
  ok: boolean;
  maxmemoryPolicy: string | null;
  error?: string;
}

/**
 * Redis is ready for voxline when it answers and will never evict keys: an evicted BullMQ key
 * silently loses a job, so any `maxmemory-policy` but `noeviction` is refused. INFO is used
 * rather than CONFIG GET, which managed Redis services often disable.
 */
export async function checkRedisReadiness(redis: Redis): Promise<RedisReadiness> {
  try {
    // A producer connection does not queue commands while it (re)connects: give it a moment.
    await waitForRedis(redis, 2_000);
    const info = await redis.info('memory');
    const policy = /^maxmemory_policy:(\S+)/m.exec(info)?.[1] ?? null;
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
