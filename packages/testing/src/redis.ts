import { randomBytes } from 'node:crypto';
import { createRedis } from '@voxline/queue';
import type { Redis } from 'ioredis';
import { inject } from 'vitest';
import './context.js';

export interface TestRedis {
  url: string;
  /** A queue prefix (a cluster hash tag) no other test file uses. */
  prefix: string;
  redis: Redis;
  /** Deletes every key under the prefix and closes the connection. */
  cleanup(): Promise<void>;
}

export async function createTestRedis(): Promise<TestRedis> {
  const url = inject('redisUrl');
  const prefix = `{vxt-${randomBytes(5).toString('hex')}}`;
  const redis = createRedis(url, 'worker');
  return {
    url,
    prefix,
    redis,
    async cleanup() {
      let cursor = '0';
      do {
        const [next, keys] = await redis.scan(cursor, 'MATCH', `${prefix}*`, 'COUNT', 1000);
        cursor = next;
        if (keys.length) await redis.del(...keys);
      } while (cursor !== '0');
      redis.disconnect();
    },
  };
}
