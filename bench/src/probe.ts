/**
 * Preloaded (`node --import bench/dist/probe.js`) into a worker process to count what one
 * clone costs in round trips: every Postgres query by kind, the time spent waiting for a pool
 * connection, and every Redis command (BullMQ's Lua scripts by name). SIGUSR2 writes a
 * snapshot to `$BENCH_PROBE_OUT-<n>.json`; the bench diffs two snapshots.
 *
 * It patches prototypes of the process's own `pg` and `ioredis`, which resolve to the same
 * module instances as the worker's (one version of each in the workspace).
 */
import { writeFileSync } from 'node:fs';
import { performance } from 'node:perf_hooks';
import { Pipeline, Redis } from 'ioredis';
import pg from 'pg';

interface Counts {
  pg: { queries: number; byKind: Record<string, number>; connects: number; connectWaitMs: number };
  redis: { commands: number; roundTrips: number; byCommand: Record<string, number> };
}

const counts: Counts = {
  pg: { queries: 0, byKind: {}, connects: 0, connectWaitMs: 0 },
  redis: { commands: 0, roundTrips: 0, byCommand: {} },
};

const bump = (table: Record<string, number>, key: string) => {
  table[key] = (table[key] ?? 0) + 1;
};

// --- Postgres ----------------------------------------------------------------------------

type QueryFn = (this: pg.Client, ...args: unknown[]) => unknown;
const clientProto = pg.Client.prototype as unknown as { query: QueryFn };
const originalQuery = clientProto.query;
clientProto.query = function (this: pg.Client, ...args: unknown[]) {
  const first = args[0];
  const text =
    typeof first === 'string'
      ? first
      : typeof (first as { text?: unknown } | null)?.text === 'string'
        ? (first as { text: string }).text
        : '';
  counts.pg.queries += 1;
  bump(counts.pg.byKind, (/^\s*([a-z]+)/i.exec(text)?.[1] ?? 'other').toLowerCase());
  return originalQuery.apply(this, args);
};

type ConnectFn = (this: pg.Pool, callback?: (...a: unknown[]) => void) => unknown;
const poolProto = pg.Pool.prototype as unknown as { connect: ConnectFn };
const originalConnect = poolProto.connect;
poolProto.connect = function (this: pg.Pool, callback?: (...a: unknown[]) => void) {
  const started = performance.now();
  const done = () => {
    counts.pg.connects += 1;
    counts.pg.connectWaitMs += performance.now() - started;
  };
  if (typeof callback === 'function') {
    return originalConnect.call(this, (...a: unknown[]) => {
      done();
      callback(...a);
    });
  }
  return (originalConnect.call(this) as Promise<unknown>).then((client) => {
    done();
    return client;
  });
};

// --- Redis -------------------------------------------------------------------------------

const scriptNames = new Map<string, string>();
function scriptName(redis: unknown, sha: string): string {
  const known = scriptNames.get(sha);
  if (known) return known;
  const set = (redis as { scriptsSet?: Record<string, { sha: string }> }).scriptsSet ?? {};
  for (const [name, script] of Object.entries(set)) scriptNames.set(script.sha, name);
  return scriptNames.get(sha) ?? 'evalsha:unknown';
}

type SendCommand = (
  this: Redis,
  command: { name: string; args: unknown[] },
  stream?: unknown,
) => unknown;
const redisProto = Redis.prototype as unknown as { sendCommand: SendCommand };
const originalSend = redisProto.sendCommand;
redisProto.sendCommand = function (this: Redis, command, stream) {
  counts.redis.commands += 1;
  // Commands of a pipeline (or MULTI) carry the pipeline's stream: one round trip for them all,
  // counted at exec below.
  if (stream === undefined) counts.redis.roundTrips += 1;
  const name =
    command.name === 'evalsha' ? scriptName(this, String(command.args[0])) : command.name;
  bump(counts.redis.byCommand, name);
  return originalSend.call(this, command, stream);
};

type Exec = (this: Pipeline, ...args: unknown[]) => unknown;
const pipelineProto = Pipeline.prototype as unknown as { exec: Exec };
const originalExec = pipelineProto.exec;
pipelineProto.exec = function (this: Pipeline, ...args: unknown[]) {
  counts.redis.roundTrips += 1;
  return originalExec.apply(this, args);
};

// --- snapshots ---------------------------------------------------------------------------

const out = process.env.BENCH_PROBE_OUT;
let snapshot = 0;
if (out) {
  process.on('SIGUSR2', () => {
    snapshot += 1;
    writeFileSync(`${out}-${snapshot}.json`, JSON.stringify(counts));
  });
}

export type ProbeCounts = Counts;

/** For in-process use (the bench's own baselines): a copy of the counters so far. */
export function probeSnapshot(): Counts {
  return structuredClone(counts);
}
