import { rm } from 'node:fs/promises';
import type { DbHandle } from '@voxline/db';
import type { NodeProcess } from '@voxline/testing/process';
import type { Redis } from 'ioredis';
import { TMP_DIR } from './paths.js';
import { truncateAll } from './services/database.js';
import { deletePrefix, newPrefix } from './services/redis.js';
import type { StackTarget } from './services/stack.js';

export interface BenchOptions {
  /** Fewer runs and smaller workloads: a smoke check of the suite, not figures to publish. */
  quick: boolean;
}

export interface BenchContext {
  options: BenchOptions;
  databaseUrl: string;
  redisUrl: string;
  db: DbHandle;
  /** An administrative connection: memory figures, key cleanup. */
  redis: Redis;
  log(message: string): void;
}

/** What one measured run owns; everything in it is released when the run ends, even on error. */
export interface RunScope {
  prefix: string;
  target: StackTarget;
  /** Registers something to close at the end of the run (last registered, first closed). */
  defer(close: () => Promise<unknown> | unknown): void;
  /** Registers a child process to stop at the end of the run. */
  own(child: NodeProcess): NodeProcess;
}

/**
 * Runs `fn` on an empty database, a fresh queue prefix and an audio store folder of its own;
 * afterwards stops its processes, closes what it opened, deletes every Redis key under the
 * prefix and the folder (a 10,000-line run stores gigabytes).
 */
export async function inRun<T>(
  ctx: BenchContext,
  label: string,
  fn: (scope: RunScope) => Promise<T>,
): Promise<T> {
  await truncateAll(ctx.db);
  const prefix = newPrefix(label);
  const audioDir = `${TMP_DIR}/audio/${prefix.replace(/[^a-z0-9-]/gi, '')}`;
  const closers: Array<() => Promise<unknown> | unknown> = [];
  const scope: RunScope = {
    prefix,
    target: { databaseUrl: ctx.databaseUrl, redisUrl: ctx.redisUrl, prefix, audioDir },
    defer: (close) => {
      closers.push(close);
    },
    own: (child) => {
      closers.push(() => child.stop());
      return child;
    },
  };
  try {
    return await fn(scope);
  } finally {
    for (const close of closers.reverse()) {
      try {
        await close();
      } catch (error) {
        ctx.log(`  cleanup of ${label} failed: ${(error as Error).message}`);
      }
    }
    await deletePrefix(ctx.redis, prefix);
    await rm(audioDir, { recursive: true, force: true });
  }
}
