import { createHash } from 'node:crypto';
import type { RedisClient } from '../connection.js';

/**
 * A Lua script sent by its SHA, and in full only when Redis does not know it yet (after a
 * restart or failover): a decision is one small round trip, not a few kilobytes of source.
 */
export class LuaScript {
  private readonly sha: string;

  constructor(private readonly source: string) {
    this.sha = createHash('sha1').update(source).digest('hex');
  }

  async run(redis: RedisClient, keys: string[], args: Array<string | number>): Promise<unknown> {
    try {
      return await redis.evalsha(this.sha, keys.length, ...keys, ...args);
    } catch (error) {
      if (!(error instanceof Error) || !error.message.startsWith('NOSCRIPT')) throw error;
      return redis.eval(this.source, keys.length, ...keys, ...args);
    }
  }
}
