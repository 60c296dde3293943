import { z } from 'zod';
import { parseList } from '../list.js';

export const DEFAULT_REDIS_URL = 'redis://127.0.0.1:6379';

// host:port, the host a name, an IPv4 address or a bracketed IPv6 address.
const NODE = /^(\[[0-9A-Fa-f:.]+\]|[A-Za-z0-9.-]+):(\d{1,5})$/;

/** `host:port,host:port`: a Redis Cluster's seed nodes; ioredis discovers the rest. */
const clusterNodes = z
  .string()
  .transform((value, ctx) => {
    const nodes: Array<{ host: string; port: number }> = [];
    for (const item of parseList(value)) {
      const match = NODE.exec(item);
      const port = Number(match?.[2]);
      if (!match || port < 1 || port > 65_535) {
        ctx.addIssue({ code: 'custom', message: 'must be host:port items separated by commas' });
        return z.NEVER;
      }
      nodes.push({ host: (match[1] as string).replace(/^\[|\]$/g, ''), port });
    }
    if (nodes.length === 0) {
      ctx.addIssue({ code: 'custom', message: 'must name at least one host:port' });
      return z.NEVER;
    }
    return nodes;
  })
  .optional();

/** Where voxline keeps its state and how it talks about it. */
export const coreEnv = z.object({
  NODE_ENV: z.enum(['development', 'production', 'test']).default('development'),
  DATABASE_URL: z
    .url({ protocol: /^postgres(ql)?$/ })
    .default('postgres://postgres@127.0.0.1:5432/voxline'),
  DATABASE_POOL_MAX: z.coerce.number().int().min(1).max(500).default(10),
  REDIS_URL: z.url({ protocol: /^rediss?$/ }).default(DEFAULT_REDIS_URL),
  // Set instead of REDIS_URL to connect to a Redis Cluster.
  REDIS_CLUSTER_NODES: clusterNodes,
  // Curly braces make a Redis Cluster hash tag: every key of every queue (and the upstream
  // slots) lands in one slot, which BullMQ's multi-key Lua scripts require on a cluster.
  QUEUE_PREFIX: z
    .string()
    .regex(/^\{[A-Za-z0-9:_-]+\}$/, 'must be a hash tag like {voxline}')
    .default('{voxline}'),
  LOG_LEVEL: z.enum(['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent']).default('info'),
});
