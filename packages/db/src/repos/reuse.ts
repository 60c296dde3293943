import { sql } from 'drizzle-orm';
import type { Executor } from '../client.js';
import { type AudioResult, audioResults } from '../schema/audio-results.js';
import { cloneJobEvents } from '../schema/clone-job-events.js';
import { type CloneJob, cloneJobs } from '../schema/clone-jobs.js';
import { cloneStatus } from '../schema/enums.js';

/** A stored result a new line can reuse: whose audio row to copy, and the line that paid. */
export interface ReusableAudio {
  /** The line whose audio_results row is copied. */
  sourceId: string;
  /** The line that made the audio upstream (the source itself, unless it reused too). */
  originId: string;
}

/**
 * For each canonical request hash, a succeeded line of the tenant with that hash whose audio
 * is archived and not purged: one query over `clone_jobs_tenant_canonical_idx`, whatever the
 * number of hashes. An original (a line that paid) is preferred over a line that reused it,
 * then the latest. Another tenant's lines are never looked at.
 */
export async function findReusableAudio(
  db: Executor,
  params: { tenantId: string; hashes: readonly string[] },
): Promise<Map<string, ReusableAudio>> {
  if (params.hashes.length === 0) return new Map();
  const result = await db.execute<{ hash: string; source_id: string; origin_id: string }>(sql`
    select distinct on (j.canonical_hash)
           j.canonical_hash as hash, j.id as source_id, coalesce(j.reused_from, j.id) as origin_id
      from ${cloneJobs} j
      join ${audioResults} a on a.clone_job_id = j.id
     where j.tenant_id = ${params.tenantId}
       and j.status = 'succeeded'
       and j.canonical_hash is not null
       and j.canonical_hash = any(${sql.param([...new Set(params.hashes)])}::text[])
       and a.archived_at is not null and a.storage_key is not null and a.purged_at is null
     order by j.canonical_hash, (j.reused_from is null) desc, j.completed_at desc nulls last`);
  return new Map(
    result.rows.map((row) => [row.hash, { sourceId: row.source_id, originId: row.origin_id }]),
  );
}

/**
 * Gives each new line a copy of its source's audio row (the same stored file, key and
 * metadata, and the source's archive time, which is the file's age for retention), in one
 * statement. `usage` is left null: the line made no upstream call and was billed nothing.
 * Sources must be the tenant's (a pair naming another's is skipped). Returns the rows written.
 */
export async function insertReusedAudio(
  db: Executor,
  params: { tenantId: string; pairs: ReadonlyArray<{ cloneJobId: string; sourceId: string }> },
): Promise<AudioResult[]> {
  if (params.pairs.length === 0) return [];
  const ids = params.pairs.map((p) => p.cloneJobId);
  const sources = params.pairs.map((p) => p.sourceId);
  await db.execute(sql`
    insert into ${audioResults} (clone_job_id, url, output_type, upstream_task_id, usage,
           url_expires_at, raw, storage_key, sha256, bytes, format, content_type, duration_ms,
           sample_rate, channels, archived_at, purged_at)
    select t.id, a.url, a.output_type, a.upstream_task_id, null, a.url_expires_at, a.raw,
           a.storage_key, a.sha256, a.bytes, a.format, a.content_type, a.duration_ms,
           a.sample_rate, a.channels, a.archived_at, null
      from unnest(${sql.param(ids)}::uuid[], ${sql.param(sources)}::uuid[]) as t(id, source)
      join ${audioResults} a on a.clone_job_id = t.source
      join ${cloneJobs} s on s.id = t.source and s.tenant_id = ${params.tenantId}
      join ${cloneJobs} n on n.id = t.id and n.tenant_id = ${params.tenantId}
    on conflict (clone_job_id) do nothing`);
  return db
    .select()
    .from(audioResults)
    .where(sql`${audioResults.cloneJobId} = any(${sql.param(ids)}::uuid[])`);
}

/**
 * The history of lines inserted already `succeeded` from stored audio: after their creation
 * event (null → queued, written by insertCloneJobs), the queued → succeeded transition with
 * its detail (the source), as transitionCloneJobs would write it, in one statement. Inserting
 * them succeeded rather than updating them after is what keeps a 10,000-line repeat within
 * seconds: the update would rewrite every row and its indexes a second time.
 */
export async function recordReusedTransitions(
  db: Executor,
  params: { tenantId: string; detailById: ReadonlyMap<string, Record<string, unknown>> },
): Promise<CloneJob[]> {
  if (params.detailById.size === 0) return [];
  const ids = [...params.detailById.keys()];
  const details = [...params.detailById.values()].map((d) => JSON.stringify(d));
  const status = sql.identifier(cloneStatus.enumName);
  await db.execute(sql`
    insert into ${cloneJobEvents} (clone_job_id, kind, from_status, to_status, detail)
    select t.id, 'transition', 'queued'::${status}, 'succeeded'::${status}, t.detail
      from unnest(${sql.param(ids)}::uuid[], ${sql.param(details)}::jsonb[]) as t(id, detail)
      join ${cloneJobs} j on j.id = t.id and j.tenant_id = ${params.tenantId}
                          and j.status = 'succeeded'`);
  return db
    .select()
    .from(cloneJobs)
    .where(
      sql`${cloneJobs.tenantId} = ${params.tenantId} and ${cloneJobs.id} = any(${sql.param(ids)}::uuid[])`,
    );
}
