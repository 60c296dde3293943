import { existsSync, readdirSync, readFileSync } from 'node:fs';
import type { NodeProcess } from '@voxline/testing/process';
import { waitFor } from '@voxline/testing/wait';
import type { ProbeCounts } from '../probe.js';

/** Asks a probed child for snapshot number `n` and reads it. */
export async function childSnapshot(
  child: NodeProcess,
  out: string,
  n: number,
): Promise<ProbeCounts> {
  child.child.kill('SIGUSR2');
  const path = `${out}-${n}.json`;
  return waitFor(`probe snapshot ${n}`, () =>
    existsSync(path) ? (JSON.parse(readFileSync(path, 'utf8')) as ProbeCounts) : undefined,
  );
}

export interface PerUnit {
  pgQueries: number;
  pgByKind: Record<string, number>;
  pgConnects: number;
  pgConnectWaitMs: number;
  redisCommands: number;
  redisRoundTrips: number;
  redisByCommand: Record<string, number>;
}

function diffTable(a: Record<string, number>, b: Record<string, number>, per: number) {
  const out: Record<string, number> = {};
  for (const key of new Set([...Object.keys(a), ...Object.keys(b)])) {
    const d = (b[key] ?? 0) - (a[key] ?? 0);
    if (d > 0) out[key] = d / per;
  }
  return out;
}

/** What happened between two snapshots, per unit of work (a clone, a job). */
export function perUnit(before: ProbeCounts, after: ProbeCounts, units: number): PerUnit {
  return {
    pgQueries: (after.pg.queries - before.pg.queries) / units,
    pgByKind: diffTable(before.pg.byKind, after.pg.byKind, units),
    pgConnects: (after.pg.connects - before.pg.connects) / units,
    pgConnectWaitMs: (after.pg.connectWaitMs - before.pg.connectWaitMs) / units,
    redisCommands: (after.redis.commands - before.redis.commands) / units,
    redisRoundTrips: (after.redis.roundTrips - before.redis.roundTrips) / units,
    redisByCommand: diffTable(before.redis.byCommand, after.redis.byCommand, units),
  };
}

/** The newest .cpuprofile in a directory. */
export function newestProfile(dir: string): string | null {
  if (!existsSync(dir)) return null;
  const files = readdirSync(dir)
    .filter((f) => f.endsWith('.cpuprofile'))
    .sort();
  const last = files[files.length - 1];
  return last ? `${dir}/${last}` : null;
}
