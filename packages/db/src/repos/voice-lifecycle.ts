import { and, asc, eq, inArray, isNull, lt, or, sql } from 'drizzle-orm';
import type { Executor } from '../client.js';
import { cloneJobEvents } from '../schema/clone-job-events.js';
import { type CloneJob, cloneJobs } from '../schema/clone-jobs.js';
import { activeStatusSql, TERMINAL_STATUSES } from '../schema/enums.js';
import { type VoiceReference, voiceReferences } from '../schema/voice-references.js';
import { type Voice, voices } from '../schema/voices.js';
import { appendVoiceEvent } from './voice-clones.js';

/** What the worker does to voices as their clone tasks and speech lines run. */

/** A voice as a task sees it: deleted voices included, so a line of one can fail saying so. */
export async function getVoiceForTask(
  db: Executor,
  params: { tenantId: string; id: string },
): Promise<Voice | null> {
  const [row] = await db
    .select()
    .from(voices)
    .where(and(eq(voices.id, params.id), eq(voices.tenantId, params.tenantId)));
  return row ?? null;
}

export async function getVoiceReference(
  db: Executor,
  params: { tenantId: string; voiceId: string },
): Promise<VoiceReference | null> {
  const [row] = await db
    .select()
    .from(voiceReferences)
    .where(
      and(
        eq(voiceReferences.voiceId, params.voiceId),
        eq(voiceReferences.tenantId, params.tenantId),
      ),
    );
  return row ?? null;
}

/**
 * Stores the upstream URL of an uploaded reference into a queued clone task's request, so its
 * submit (and a retry of it) sends that URL. Null when the task is no longer queued.
 */
export async function setCloneRequestAudio(
  db: Executor,
  params: { tenantId: string; id: string; audio: string },
): Promise<CloneJob | null> {
  const [row] = await db
    .update(cloneJobs)
    .set({
      request: sql`jsonb_set(${cloneJobs.request}, '{audio}', to_jsonb(${params.audio}::text))`,
      updatedAt: sql`now()`,
    })
    .where(
      and(
        eq(cloneJobs.id, params.id),
        eq(cloneJobs.tenantId, params.tenantId),
        eq(cloneJobs.status, 'queued'),
      ),
    )
    .returning();
  return row ?? null;
}

/**
 * A voice's current clone task succeeded: the voice is ready under `upstreamVoiceId`, used now
 * (the clone spoke its preview) and expected to live `ttlMs` upstream. A compare-and-set on the
 * clone task: a task that is no longer the voice's current one (a re-clone replaced it) changes
 * nothing. Returns the voice when it moved, inside the caller's transaction.
 */
export async function markVoiceReady(
  tx: Executor,
  params: {
    tenantId: string;
    voiceId: string;
    cloneJobId: string;
    upstreamVoiceId: string;
    /** The upstream account the clone ran on: the voice exists only for that key. */
    account: string;
    ttlMs: number;
  },
): Promise<Voice | null> {
  const [voice] = await tx
    .update(voices)
    .set({
      status: 'ready',
      upstreamVoiceId: params.upstreamVoiceId,
      account: params.account,
      readyAt: sql`now()`,
      lastUsedAt: sql`now()`,
      expiresAt: sql`now() + make_interval(secs => ${params.ttlMs / 1000})`,
      errorCode: null,
      errorMessage: null,
      updatedAt: sql`now()`,
    })
    .where(
      and(
        eq(voices.id, params.voiceId),
        eq(voices.tenantId, params.tenantId),
        eq(voices.cloneJobId, params.cloneJobId),
        eq(voices.status, 'cloning'),
        isNull(voices.deletedAt),
      ),
    )
    .returning();
  if (!voice) return null;
  await appendVoiceEvent(tx, {
    voiceId: voice.id,
    kind: 'ready',
    from: 'cloning',
    to: 'ready',
    detail: {
      cloneJobId: params.cloneJobId,
      upstreamVoiceId: params.upstreamVoiceId,
      account: params.account,
    },
  });
  return voice;
}

/** A voice's current clone task failed for good: the voice fails with its code (see markVoiceReady). */
export async function markVoiceFailed(
  tx: Executor,
  params: { tenantId: string; voiceId: string; cloneJobId: string; code: string; message: string },
): Promise<Voice | null> {
  const [voice] = await tx
    .update(voices)
    .set({
      status: 'failed',
      errorCode: params.code,
      errorMessage: params.message,
      updatedAt: sql`now()`,
    })
    .where(
      and(
        eq(voices.id, params.voiceId),
        eq(voices.tenantId, params.tenantId),
        eq(voices.cloneJobId, params.cloneJobId),
        eq(voices.status, 'cloning'),
        isNull(voices.deletedAt),
      ),
    )
    .returning();
  if (!voice) return null;
  await appendVoiceEvent(tx, {
    voiceId: voice.id,
    kind: 'failed',
    from: 'cloning',
    to: 'failed',
    detail: { cloneJobId: params.cloneJobId, code: params.code },
  });
  return voice;
}

/**
 * A line spoke with the voice: upstream's 7 days start again. Throttled to one write per
 * `throttleMs`, so a 10,000-line batch does not rewrite one row 10,000 times. True if written.
 */
export async function touchVoice(
  db: Executor,
  params: { tenantId: string; voiceId: string; ttlMs: number; throttleMs: number },
): Promise<boolean> {
  const rows = await db
    .update(voices)
    .set({
      lastUsedAt: sql`now()`,
      expiresAt: sql`now() + make_interval(secs => ${params.ttlMs / 1000})`,
      updatedAt: sql`now()`,
    })
    .where(
      and(
        eq(voices.id, params.voiceId),
        eq(voices.tenantId, params.tenantId),
        eq(voices.status, 'ready'),
        or(
          isNull(voices.lastUsedAt),
          lt(voices.lastUsedAt, sql`now() - make_interval(secs => ${params.throttleMs / 1000})`),
        ),
      ),
    )
    .returning({ id: voices.id });
  return rows.length > 0;
}

/**
 * Voices left in `cloning` although their clone task is terminal: the process that ended the
 * task died before (or a cancel ended it). The reconciler settles them from the task.
 */
export async function findStuckCloningVoices(
  db: Executor,
  params: { limit: number },
): Promise<Array<{ voice: Voice; job: CloneJob }>> {
  return db
    .select({ voice: voices, job: cloneJobs })
    .from(voices)
    .innerJoin(cloneJobs, eq(cloneJobs.id, voices.cloneJobId))
    .where(
      and(
        eq(voices.status, 'cloning'),
        isNull(voices.deletedAt),
        inArray(cloneJobs.status, [...TERMINAL_STATUSES]),
      ),
    )
    .orderBy(asc(voices.id))
    .limit(params.limit);
}

/** Keep-alive lines carry this metadata; at most one per voice is active. */
export const KEEP_ALIVE_METADATA = { keep_alive: true } as const;

/**
 * Which kept voices are due their keep-alive line (see claimKeepAlive), oldest expiry first.
 * A plain read: claimKeepAlive is the compare-and-set that decides.
 */
export async function findKeepAliveDue(
  db: Executor,
  params: { marginMs: number; retryMs: number; limit: number },
): Promise<Voice[]> {
  return db
    .select()
    .from(voices)
    .where(keepAliveDue(params))
    .orderBy(asc(voices.expiresAt))
    .limit(params.limit);
}

/**
 * A kept, ready voice that upstream would forget within `marginMs` gets one keep-alive line.
 * `keep_alive_at` records the claim: a voice is due again once it was used since (the line
 * succeeded and touched it, so its expiry moved a week on) or, if the line failed, after
 * `retryMs`; and never while a keep-alive line of it is still active.
 */
function keepAliveDue(params: { marginMs: number; retryMs: number }) {
  return and(
    eq(voices.keepAlive, true),
    eq(voices.status, 'ready'),
    isNull(voices.deletedAt),
    lt(voices.expiresAt, sql`now() + make_interval(secs => ${params.marginMs / 1000})`),
    or(
      isNull(voices.keepAliveAt),
      lt(voices.keepAliveAt, voices.lastUsedAt),
      lt(voices.keepAliveAt, sql`now() - make_interval(secs => ${params.retryMs / 1000})`),
    ),
    sql`not exists (select 1 from ${cloneJobs}
          where ${cloneJobs.voiceId} = ${voices.id} and ${activeStatusSql(cloneJobs.status)}
            and ${cloneJobs.metadata} @> ${JSON.stringify(KEEP_ALIVE_METADATA)}::jsonb)`,
  );
}

/**
 * Claims a voice's keep-alive (sets `keep_alive_at`) if it is still due, inside the transaction
 * that inserts the line: of two schedulers racing, one inserts it. The voice, or null.
 */
export async function claimKeepAlive(
  tx: Executor,
  params: { voiceId: string; marginMs: number; retryMs: number },
): Promise<Voice | null> {
  const [voice] = await tx
    .update(voices)
    .set({ keepAliveAt: sql`now()`, updatedAt: sql`now()` })
    .where(and(eq(voices.id, params.voiceId), keepAliveDue(params)))
    .returning();
  if (!voice) return null;
  await appendVoiceEvent(tx, { voiceId: voice.id, kind: 'keep_alive', from: null, to: null });
  return voice;
}

/**
 * How often a line went back to `queued` in this run because upstream did not know its voice
 * (its `voice_missing` events): bounds that loop, which spends no attempt.
 */
export async function countVoiceMissing(
  db: Executor,
  params: { cloneJobId: string; run: number },
): Promise<number> {
  const [row] = await db
    .select({ n: sql<number>`count(*)::int` })
    .from(cloneJobEvents)
    .where(
      and(
        eq(cloneJobEvents.cloneJobId, params.cloneJobId),
        eq(cloneJobEvents.kind, 'voice_missing'),
        sql`(${cloneJobEvents.detail} ->> 'run')::int = ${params.run}`,
      ),
    );
  return row?.n ?? 0;
}
