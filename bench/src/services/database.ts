import {
  createDb,
  createTenant,
  type DbHandle,
  insertBatch,
  insertCloneJobs,
  newId,
  runMigrations,
} from '@voxline/db';
import { enqueue, jobIds, PRIORITY, type Queues } from '@voxline/queue';
import type { VoiceCloneParams } from '@voxline/runninghub';
import pg from 'pg';

/** The database the bench owns: dropped and recreated at the start of every run. */
export async function recreateDatabase(databaseUrl: string): Promise<void> {
  const url = new URL(databaseUrl);
  const name = decodeURIComponent(url.pathname.slice(1));
  if (!/^voxline_bench[a-z0-9_]*$/.test(name)) {
    // A guard against pointing the bench at a database that holds something worth keeping.
    throw new Error(`refusing to drop "${name}": the bench database must be named voxline_bench*`);
  }
  url.pathname = '/postgres';
  const admin = new pg.Client({ connectionString: url.toString() });
  await admin.connect();
  try {
    await admin.query(`drop database if exists ${pg.escapeIdentifier(name)} with (force)`);
    await admin.query(`create database ${pg.escapeIdentifier(name)}`);
  } finally {
    await admin.end();
  }
  await runMigrations(databaseUrl);
}

export async function dropDatabase(databaseUrl: string): Promise<void> {
  const url = new URL(databaseUrl);
  const name = decodeURIComponent(url.pathname.slice(1));
  url.pathname = '/postgres';
  const admin = new pg.Client({ connectionString: url.toString() });
  await admin.connect();
  try {
    await admin.query(`drop database if exists ${pg.escapeIdentifier(name)} with (force)`);
  } finally {
    await admin.end();
  }
}

export function openDatabase(databaseUrl: string): DbHandle {
  return createDb({ url: databaseUrl, max: 4, applicationName: 'voxline-bench' });
}

/** Empties every table, so each run starts from the same (empty) state. */
export async function truncateAll(db: DbHandle): Promise<void> {
  const { rows } = await db.pool.query<{ name: string }>(
    `select quote_ident(tablename) as name from pg_tables where schemaname = 'public'`,
  );
  if (rows.length === 0) return;
  await db.pool.query(`truncate table ${rows.map((r) => r.name).join(', ')} cascade`);
}

export async function benchTenant(db: DbHandle): Promise<{ id: string; apiKey: string }> {
  const { tenant, apiKey } = await createTenant(db.db, { name: 'bench' });
  return { id: tenant.id, apiKey };
}

// Exempt from the API's SSRF check by AUDIO_URL_ALLOWLIST: the bench machine needs no DNS.
export const AUDIO_HOST = 'cdn.example.com';

/** The voice of the lines `loadBatch` writes: each line is one voice-clone call. */
export const VOICE: Omit<VoiceCloneParams, 'text'> = {
  audio: `https://${AUDIO_HOST}/voices/narrator.wav`,
  custom_voice_id: 'narrator01',
  need_noise_reduction: false,
  need_volume_normalization: false,
  model: 'speech-02-hd',
};

/**
 * Writes a batch and its lines and queues their submit steps exactly as the producer API does
 * (one transaction, then `enqueue` in chunks), without HTTP: the worker benchmarks measure the
 * pipeline, not the API. Returns when the rows are committed; `enqueued` resolves when queued.
 */
export async function loadBatch(
  db: DbHandle,
  queues: Queues,
  tenantId: string,
  texts: string[],
): Promise<{ batchId: string; ids: string[]; committedAt: number; enqueuedAt: number }> {
  const batchId = newId();
  const rows = texts.map((text, index) => ({
    id: newId(),
    tenantId,
    batchId,
    lineIndex: index,
    priority: PRIORITY.batch,
    request: { ...VOICE, text },
  }));
  await db.db.transaction(async (tx) => {
    await insertBatch(tx, {
      id: batchId,
      tenantId,
      status: 'running',
      total: rows.length,
      voice: VOICE,
      requestHash: batchId,
    });
    await insertCloneJobs(tx, rows);
  });
  const committedAt = Date.now();
  await enqueue(
    queues,
    'cloneSubmit',
    rows.map((row) => ({
      jobId: jobIds.submit(row.id, 1),
      data: { cloneJobId: row.id, tenantId, run: 1 },
      options: { priority: PRIORITY.batch },
    })),
  );
  return { batchId, ids: rows.map((r) => r.id), committedAt, enqueuedAt: Date.now() };
}

export interface BatchProgress {
  total: number;
  queued: number;
  submitting: number;
  running: number;
  succeeded: number;
  failed: number;
  canceled: number;
}

export async function batchProgress(db: DbHandle, batchId: string): Promise<BatchProgress> {
  const { rows } = await db.pool.query<{ status: keyof BatchProgress; n: string }>(
    'select status, count(*) as n from clone_jobs where batch_id = $1 group by status',
    [batchId],
  );
  const out: BatchProgress = {
    total: 0,
    queued: 0,
    submitting: 0,
    running: 0,
    succeeded: 0,
    failed: 0,
    canceled: 0,
  };
  for (const row of rows) {
    out[row.status] = Number(row.n);
    out.total += Number(row.n);
  }
  return out;
}

/** Per line: the upstream task, when its job was submitted and when it was marked terminal. */
export async function batchTimes(
  db: DbHandle,
  batchId: string,
): Promise<
  Array<{ id: string; status: string; taskId: string | null; completedAt: number | null }>
> {
  const { rows } = await db.pool.query<{
    id: string;
    status: string;
    upstream_task_id: string | null;
    completed_ms: string | null;
  }>(
    `select id, status, upstream_task_id,
            (extract(epoch from completed_at) * 1000)::bigint as completed_ms
       from clone_jobs where batch_id = $1`,
    [batchId],
  );
  return rows.map((r) => ({
    id: r.id,
    status: r.status,
    taskId: r.upstream_task_id,
    completedAt: r.completed_ms === null ? null : Number(r.completed_ms),
  }));
}
