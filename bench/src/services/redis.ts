import { randomBytes } from 'node:crypto';
import { createRedis } from '@voxline/queue';
import type { Redis } from 'ioredis';

/**
 * The bench shares the machine's Redis with everything else, so every run uses a queue prefix
 * of its own (a hash tag, as QUEUE_PREFIX requires) and deletes its keys afterwards. Prefixes
 * handed out are remembered, so cleanup after a failure still finds them.
 */
const prefixes = new Set<string>();

export function newPrefix(label: string): string {
  const prefix = `{vxb-${label}-${randomBytes(4).toString('hex')}}`;
  prefixes.add(prefix);
  return prefix;
}

export function adminRedis(url: string): Redis {
  return createRedis(url, 'worker');
}

async function* scanKeys(redis: Redis, prefix: string): AsyncGenerator<string[]> {
  // SCAN's MATCH is a glob: escape glob syntax, should a prefix ever contain some.
  const pattern = `${prefix.replace(/[*?[\]\\]/g, '\\$&')}*`;
  let cursor = '0';
  do {
    const [next, keys] = await redis.scan(cursor, 'MATCH', pattern, 'COUNT', 2_000);
    cursor = next;
    if (keys.length > 0) yield keys;
  } while (cursor !== '0');
}

export async function deletePrefix(redis: Redis, prefix: string): Promise<number> {
  let deleted = 0;
  for await (const keys of scanKeys(redis, prefix)) {
    deleted += await redis.unlink(...keys);
  }
  prefixes.delete(prefix);
  return deleted;
}

/** Deletes the keys of every prefix this process handed out and has not cleaned yet. */
export async function deleteAllPrefixes(redis: Redis): Promise<void> {
  for (const prefix of [...prefixes]) await deletePrefix(redis, prefix);
}

/** Keys under a prefix and the bytes Redis attributes to them (MEMORY USAGE, sampled fully). */
export async function prefixMemory(
  redis: Redis,
  prefix: string,
): Promise<{
  keys: number;
  bytes: number;
  byKind: Record<string, { keys: number; bytes: number }>;
}> {
  let keys = 0;
  let bytes = 0;
  const byKind: Record<string, { keys: number; bytes: number }> = {};
  for await (const batch of scanKeys(redis, prefix)) {
    const pipeline = redis.pipeline();
    for (const key of batch) pipeline.memory('USAGE', key, 'SAMPLES', '0');
    const results = (await pipeline.exec()) ?? [];
    batch.forEach((key, i) => {
      const size = Number(results[i]?.[1] ?? 0);
      keys += 1;
      bytes += size;
      const kind = keyKind(prefix, key);
      const entry = byKind[kind] ?? { keys: 0, bytes: 0 };
      entry.keys += 1;
      entry.bytes += size;
      byKind[kind] = entry;
    });
  }
  return { keys, bytes, byKind };
}

// `{p}:clone-poll:<job id>` is a job hash; `{p}:clone-poll:delayed` a queue structure.
function keyKind(prefix: string, key: string): string {
  const rest = key.slice(prefix.length + 1);
  const [queue, part] = rest.split(':');
  if (part === undefined) return queue ?? rest;
  if (/^(submit|poll)-[0-9a-f-]{36}-\d+(:logs)?$/.test(part) || /^\d+$/.test(part)) {
    return `${queue}:<job hash>`;
  }
  return `${queue}:${part}`;
}

export async function usedMemory(redis: Redis): Promise<number> {
  const info = await redis.info('memory');
  return Number(/^used_memory:(\d+)/m.exec(info)?.[1] ?? Number.NaN);
}

export async function redisVersion(redis: Redis): Promise<string> {
  const info = await redis.info('server');
  return /^redis_version:(\S+)/m.exec(info)?.[1] ?? 'unknown';
}

export async function redisPid(redis: Redis): Promise<number | null> {
  const info = await redis.info('server');
  const pid = /^process_id:(\d+)/m.exec(info)?.[1];
  return pid === undefined ? null : Number(pid);
}

/** Redis server CPU seconds (user + system), from INFO cpu. */
export async function redisCpuSeconds(redis: Redis): Promise<number> {
  const info = await redis.info('cpu');
  const user = Number(/^used_cpu_user:([\d.]+)/m.exec(info)?.[1] ?? 0);
  const sys = Number(/^used_cpu_sys:([\d.]+)/m.exec(info)?.[1] ?? 0);
  return user + sys;
}

/** Calls per command since the server started (INFO commandstats). */
export async function commandStats(redis: Redis): Promise<Map<string, number>> {
  const info = await redis.info('commandstats');
  const out = new Map<string, number>();
  for (const match of info.matchAll(/^cmdstat_([^:]+):calls=(\d+)/gm)) {
    out.set(match[1] as string, Number(match[2]));
  }
  return out;
}
