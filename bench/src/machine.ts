import { execFileSync } from 'node:child_process';
import { existsSync, readFileSync } from 'node:fs';
import { cpus, loadavg, release, totalmem } from 'node:os';
import type { DbHandle } from '@voxline/db';
import type { Redis } from 'ioredis';
import { BENCH_DIR, REPO_DIR } from './paths.js';
import { fmt, MB, table } from './report.js';
import { redisVersion } from './services/redis.js';

function versionOf(packageDir: string): string {
  const path = `${packageDir}/package.json`;
  if (!existsSync(path)) return 'not installed';
  return (JSON.parse(readFileSync(path, 'utf8')) as { version: string }).version;
}

function git(args: string[]): string {
  try {
    return execFileSync('git', args, { cwd: REPO_DIR, encoding: 'utf8' }).trim();
  } catch {
    return '';
  }
}

export interface MachineInfo {
  markdown: string;
}

export async function describeMachine(db: DbHandle, redis: Redis): Promise<MachineInfo> {
  const cpu = cpus();
  const { rows } = await db.pool.query<{ server_version: string }>('show server_version');
  const commit = git(['rev-parse', '--short', 'HEAD']);
  const dirty = git(['status', '--porcelain', '--untracked-files=no']) !== '';
  const load = loadavg().map((l) => fmt(l, 2));
  const packages: Array<[string, string]> = [
    ['bullmq', versionOf(`${BENCH_DIR}node_modules/bullmq`)],
    ['ioredis', versionOf(`${BENCH_DIR}node_modules/ioredis`)],
    ['pg', versionOf(`${BENCH_DIR}node_modules/pg`)],
    ['drizzle-orm', versionOf(`${REPO_DIR}packages/db/node_modules/drizzle-orm`)],
    ['fastify', versionOf(`${REPO_DIR}apps/api/node_modules/fastify`)],
    ['undici', versionOf(`${REPO_DIR}packages/runninghub/node_modules/undici`)],
    ['zod', versionOf(`${REPO_DIR}packages/queue/node_modules/zod`)],
  ];
  const markdown = table(
    ['', ''],
    [
      ['Date', `${new Date().toISOString().replace('T', ' ').slice(0, 16)} UTC`],
      ['CPU', `${cpu[0]?.model.trim() ?? 'unknown'}, ${cpu.length} cores`],
      ['Memory', `${fmt(totalmem() / MB / 1024, 1)} GiB`],
      ['OS', `Linux ${release()}`],
      ['Load average at start (1/5/15 min)', load.join(' / ')],
      ['Node.js', process.version],
      ['Redis', await redisVersion(redis)],
      ['PostgreSQL', rows[0]?.server_version ?? 'unknown'],
      ['Packages', packages.map(([n, v]) => `${n} ${v}`).join(', ')],
      ['voxline', `${commit || 'unknown commit'}${dirty ? ' (with uncommitted changes)' : ''}`],
    ],
  );
  return { markdown };
}
