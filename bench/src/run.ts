/**
 * `pnpm bench`: voxline's throughput, latency and memory, each against a baseline measured in
 * the same run, written to bench/results.md. See bench/README.md.
 *
 *   node bench/dist/run.js [--quick] [--only accept,pipeline,...] [--keep-db] [--out FILE]
 */
import { existsSync, mkdirSync, writeFileSync } from 'node:fs';
import { cpus } from 'node:os';
import { parseArgs } from 'node:util';
import { ENTRY_POINTS, stopAll } from '@voxline/testing/process';
import type { BenchContext } from './context.js';
import { describeMachine } from './machine.js';
import { BENCH_DIR, TMP_DIR } from './paths.js';
import { renderSection, type Section } from './report.js';
import { dropDatabase, openDatabase, recreateDatabase } from './services/database.js';
import { machineCpu } from './services/processes.js';
import { adminRedis, deleteAllPrefixes } from './services/redis.js';
import { acceptSuite } from './suites/accept.js';
import { archiveSuite } from './suites/archive.js';
import { callbacksSuite } from './suites/callbacks.js';
import { costSuite } from './suites/cost.js';
import { memorySuite } from './suites/memory.js';
import { pipelineSuite } from './suites/pipeline.js';
import { pollingSuite } from './suites/polling.js';
import { reuseSuite } from './suites/reuse.js';
import { scaleSuite } from './suites/scale.js';
import { upstreamSuite } from './suites/upstream.js';
import { sleep } from './util/wait.js';

const SUITES: Record<string, (ctx: BenchContext) => Promise<Section>> = {
  accept: acceptSuite,
  pipeline: pipelineSuite,
  upstream: upstreamSuite,
  polling: pollingSuite,
  memory: memorySuite,
  scale: scaleSuite,
  cost: costSuite,
  callbacks: callbacksSuite,
  archive: archiveSuite,
  reuse: reuseSuite,
  fairness: (await import('./suites/fairness.js')).fairnessSuite,
};

const { values } = parseArgs({
  options: {
    quick: { type: 'boolean', default: false },
    only: { type: 'string' },
    'keep-db': { type: 'boolean', default: false },
    out: { type: 'string' },
    help: { type: 'boolean', default: false },
  },
});

if (values.help) {
  console.log(
    `usage: node bench/dist/run.js [--quick] [--only ${Object.keys(SUITES).join(',')}] [--keep-db] [--out FILE]`,
  );
  process.exit(0);
}

const only = values.only ? values.only.split(',').map((s) => s.trim()) : null;
for (const name of only ?? []) {
  if (!SUITES[name]) {
    console.error(`unknown suite "${name}"; known: ${Object.keys(SUITES).join(', ')}`);
    process.exit(2);
  }
}
const selected = Object.keys(SUITES).filter((name) => !only || only.includes(name));
const complete = !values.quick && !only;
// Only a full run replaces the committed results; smoke checks go to the scratch directory.
const outPath = values.out ?? (complete ? `${BENCH_DIR}results.md` : `${TMP_DIR}/results.md`);

function withDatabase(url: string, name: string): string {
  const u = new URL(url);
  u.pathname = `/${name}`;
  return u.toString();
}

const databaseUrl = withDatabase(
  process.env.DATABASE_URL ?? 'postgres://postgres@127.0.0.1:5432/voxline',
  process.env.BENCH_DATABASE ?? 'voxline_bench',
);
const redisUrl = process.env.REDIS_URL ?? 'redis://127.0.0.1:6379';

for (const main of Object.values(ENTRY_POINTS)) {
  if (!existsSync(main)) {
    console.error(`${main} is missing: run \`pnpm build\` first (\`pnpm bench\` does).`);
    process.exit(1);
  }
}
mkdirSync(TMP_DIR, { recursive: true });

/** Busy share of the machine over one second while the bench itself is idle. */
async function otherLoad(): Promise<number> {
  const a = machineCpu();
  await sleep(1_000);
  const b = machineCpu();
  return (b.busy - a.busy) / Math.max(1e-9, b.total - a.total);
}

const started = Date.now();
const log = (message: string) => {
  const t = ((Date.now() - started) / 1000).toFixed(0).padStart(4);
  console.log(`[${t}s] ${message}`);
};

const redis = adminRedis(redisUrl);
let db: ReturnType<typeof openDatabase> | null = null;
let cleaning: Promise<void> | null = null;

function cleanup(): Promise<void> {
  cleaning ??= (async () => {
    await stopAll().catch(() => {});
    await deleteAllPrefixes(redis).catch((error: Error) => {
      console.error(`could not delete the bench's Redis keys: ${error.message}`);
    });
    redis.disconnect();
    await db?.close().catch(() => {});
    if (!values['keep-db']) await dropDatabase(databaseUrl).catch(() => {});
  })();
  return cleaning;
}

for (const signal of ['SIGINT', 'SIGTERM'] as const) {
  process.once(signal, () => {
    console.error(`\n${signal}: stopping the bench's processes and deleting its keys`);
    void cleanup().finally(() => process.exit(130));
  });
}

let failures = 0;
try {
  log(`database ${new URL(databaseUrl).pathname.slice(1)}: dropping, creating, migrating`);
  await recreateDatabase(databaseUrl);
  db = openDatabase(databaseUrl);
  const machine = await describeMachine(db, redis);
  const ctx: BenchContext = {
    options: { quick: values.quick },
    databaseUrl,
    redisUrl,
    db,
    redis,
    log,
  };
  const sections: string[] = [];
  const headlines: string[] = [];
  for (const name of selected) {
    const suite = SUITES[name];
    if (!suite) continue;
    log(`== ${name}`);
    try {
      // Other work on a shared machine skews every figure: give it a moment to pass.
      let background = await otherLoad();
      for (let waited = 0; background > 0.5 && waited < 30; waited += 5) {
        log(`  the machine is ${Math.round(100 * background)} % busy with other work; waiting`);
        await sleep(4_000);
        background = await otherLoad();
      }
      const section = await suite(ctx);
      section.notes.push(
        `_Machine load from other processes just before this item: ${Math.round(100 * background)} % of ${cpus().length} cores busy._`,
      );
      sections.push(renderSection(section));
      headlines.push(...(section.headline ?? []));
    } catch (error) {
      failures += 1;
      const message = error instanceof Error ? (error.stack ?? error.message) : String(error);
      console.error(`suite ${name} failed:\n${message}`);
      sections.push(`## ${name}\n\n**Failed:**\n\n\`\`\`\n${message}\n\`\`\`\n`);
    }
  }
  const minutes = (Date.now() - started) / 60_000;
  const header = [
    '# voxline benchmarks',
    '',
    `Written by \`pnpm bench\`${values.quick ? ' --quick (smoke check: small workloads, figures not comparable)' : ''}${only ? ` --only ${only.join(',')}` : ''} in ${minutes.toFixed(1)} minutes.`,
    'How each figure is measured and how to read it: [README.md](README.md).',
    '',
    machine.markdown,
    '',
    'Every figure is the median of the runs shown, with min and max; its baseline was measured in',
    'the same session, interleaved with it, so the ratio holds even when the machine is noisy.',
    'Every figure and baseline here comes from this run on the machine above: none is quoted from',
    'another run or machine. A figure marked _derived_ is computed from measured ones (a rate from',
    'a time, a ratio of medians, a cap from CPU per clone), not measured itself.',
    '',
    ...(headlines.length > 0 ? ['## Summary', '', ...headlines.map((h) => `- ${h}`), ''] : []),
  ].join('\n');
  writeFileSync(outPath, `${header}\n${sections.join('\n')}`);
  log(`wrote ${outPath}`);
} catch (error) {
  failures += 1;
  console.error(error);
} finally {
  await cleanup();
}
process.exit(failures > 0 ? 1 : 0);
