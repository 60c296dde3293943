import { and, count, desc, eq, inArray, isNull, lt, ne, sql } from 'drizzle-orm';
import type { Executor } from '../client.js';
import { type AudioResult, audioResults } from '../schema/audio-results.js';
import { cloneJobs } from '../schema/clone-jobs.js';
import { activeStatusSql } from '../schema/enums.js';
import { type Voice, voices } from '../schema/voices.js';
import { appendVoiceEvent } from './voice-clones.js';

export interface VoiceCost {
  estimated: number;
  /** What upstream reported for the clones that reported a cost; null when none did. */
  actual: number | null;
}

/** A voice with what its resource shows besides the row: its clones' cost and its preview. */
export interface VoiceView {
  voice: Voice;
  cost: VoiceCost;
  /** The audio of its latest clone that succeeded: the voice speaking its preview text. */
  preview: AudioResult | null;
}

export async function getVoice(
  db: Executor,
  params: { tenantId: string; id: string },
): Promise<Voice | null> {
  const [row] = await db
    .select()
    .from(voices)
    .where(
      and(eq(voices.id, params.id), eq(voices.tenantId, params.tenantId), isNull(voices.deletedAt)),
    );
  return row ?? null;
}

/** Cost and preview of a voice that was already read (see VoiceView). */
export async function viewOfVoice(db: Executor, voice: Voice): Promise<VoiceView> {
  const ofVoice = and(
    eq(cloneJobs.tenantId, voice.tenantId),
    eq(cloneJobs.voiceId, voice.id),
    eq(cloneJobs.kind, 'voice_clone'),
  );
  const [cost] = await db
    .select({
      estimated: sql<string>`coalesce(sum(${cloneJobs.estimatedCost}), 0)`,
      actual: sql<string | null>`sum(${cloneJobs.actualCost})`,
    })
    .from(cloneJobs)
    .where(ofVoice);
  const [preview] = await db
    .select({ audio: audioResults })
    .from(audioResults)
    .innerJoin(cloneJobs, eq(cloneJobs.id, audioResults.cloneJobId))
    .where(ofVoice)
    .orderBy(desc(cloneJobs.id))
    .limit(1);
  return {
    voice,
    cost: {
      estimated: Number(cost?.estimated ?? 0),
      actual: cost?.actual === null || cost?.actual === undefined ? null : Number(cost.actual),
    },
    preview: preview?.audio ?? null,
  };
}

export async function getVoiceView(
  db: Executor,
  params: { tenantId: string; id: string },
): Promise<VoiceView | null> {
  const voice = await getVoice(db, params);
  return voice ? viewOfVoice(db, voice) : null;
}

/** Cost and preview of many voices in two queries (a page of `GET /v1/voices`). */
export async function viewsOfVoices(db: Executor, list: Voice[]): Promise<VoiceView[]> {
  if (list.length === 0) return [];
  const [first] = list;
  const tenantId = first?.tenantId ?? '';
  const ofVoices = and(
    eq(cloneJobs.tenantId, tenantId),
    inArray(
      cloneJobs.voiceId,
      list.map((v) => v.id),
    ),
    eq(cloneJobs.kind, 'voice_clone'),
  );
  const costs = await db
    .select({
      voiceId: cloneJobs.voiceId,
      estimated: sql<string>`coalesce(sum(${cloneJobs.estimatedCost}), 0)`,
      actual: sql<string | null>`sum(${cloneJobs.actualCost})`,
    })
    .from(cloneJobs)
    .where(ofVoices)
    .groupBy(cloneJobs.voiceId);
  const previews = await db
    .selectDistinctOn([cloneJobs.voiceId], { voiceId: cloneJobs.voiceId, audio: audioResults })
    .from(audioResults)
    .innerJoin(cloneJobs, eq(cloneJobs.id, audioResults.cloneJobId))
    .where(ofVoices)
    .orderBy(cloneJobs.voiceId, desc(cloneJobs.id));
  const costOf = new Map(costs.map((c) => [c.voiceId, c]));
  const previewOf = new Map(previews.map((p) => [p.voiceId, p.audio]));
  return list.map((voice) => {
    const cost = costOf.get(voice.id);
    return {
      voice,
      cost: {
        estimated: Number(cost?.estimated ?? 0),
        actual: cost?.actual === null || cost?.actual === undefined ? null : Number(cost.actual),
      },
      preview: previewOf.get(voice.id) ?? null,
    };
  });
}

/** A page of a tenant's voices, newest first (ids are UUIDv7), before `beforeId`. */
export async function listVoices(
  db: Executor,
  params: { tenantId: string; beforeId?: string; limit: number },
): Promise<Voice[]> {
  return db
    .select()
    .from(voices)
    .where(
      and(
        eq(voices.tenantId, params.tenantId),
        isNull(voices.deletedAt),
        params.beforeId ? lt(voices.id, params.beforeId) : undefined,
      ),
    )
    .orderBy(desc(voices.id))
    .limit(params.limit);
}

/** The voice an Idempotency-Key made, deleted or not: a replay answers what the key made. */
export async function findVoiceByIdempotencyKey(
  db: Executor,
  params: { tenantId: string; idempotencyKey: string },
): Promise<Voice | null> {
  const [row] = await db
    .select()
    .from(voices)
    .where(
      and(eq(voices.tenantId, params.tenantId), eq(voices.idempotencyKey, params.idempotencyKey)),
    );
  return row ?? null;
}

/**
 * The tenant's voices among `ids` that are not deleted, each locked against a concurrent
 * delete (FOR SHARE) until the caller's transaction ends: lines inserted for them in that
 * transaction cannot end up on a voice a DELETE removed in between.
 */
export async function lockVoices(
  tx: Executor,
  params: { tenantId: string; ids: string[] },
): Promise<Voice[]> {
  if (params.ids.length === 0) return [];
  return tx
    .select()
    .from(voices)
    .where(
      and(
        eq(voices.tenantId, params.tenantId),
        inArray(voices.id, params.ids),
        isNull(voices.deletedAt),
      ),
    )
    .for('share');
}

/**
 * A voice a batch's inline voice can speak with instead of cloning again: the tenant's, not
 * deleted, not failed, cloned from the same reference with the same settings. A ready one is
 * preferred, then the newest. The caller holds `lockVoiceSettings` so that two batches with
 * the same inline voice do not both create one.
 */
export async function findReusableVoice(
  tx: Executor,
  params: { tenantId: string; settingsHash: string },
): Promise<Voice | null> {
  const [row] = await tx
    .select()
    .from(voices)
    .where(
      and(
        eq(voices.tenantId, params.tenantId),
        eq(voices.settingsHash, params.settingsHash),
        isNull(voices.deletedAt),
        ne(voices.status, 'failed'),
      ),
    )
    .orderBy(sql`${voices.status} = 'ready' desc`, desc(voices.id))
    .limit(1)
    .for('share');
  return row ?? null;
}

/** Serialises find-or-create of one tenant's voice settings until the transaction ends. */
export async function lockVoiceSettings(
  tx: Executor,
  params: { tenantId: string; settingsHash: string },
): Promise<void> {
  await tx.execute(
    sql`select pg_advisory_xact_lock(hashtextextended(${`voice:${params.tenantId}:${params.settingsHash}`}, 0))`,
  );
}

export interface VoiceChanges {
  name?: string | null;
  keepAlive?: boolean;
  metadata?: Record<string, unknown> | null;
}

export async function updateVoice(
  db: Executor,
  params: { tenantId: string; id: string; changes: VoiceChanges },
): Promise<Voice | null> {
  const { changes } = params;
  const [row] = await db
    .update(voices)
    .set({
      ...(changes.name !== undefined ? { name: changes.name } : {}),
      ...(changes.keepAlive !== undefined ? { keepAlive: changes.keepAlive } : {}),
      ...(changes.metadata !== undefined ? { metadata: changes.metadata } : {}),
      updatedAt: sql`now()`,
    })
    .where(
      and(eq(voices.id, params.id), eq(voices.tenantId, params.tenantId), isNull(voices.deletedAt)),
    )
    .returning();
  return row ?? null;
}

export type DeleteVoiceOutcome = { deleted: Voice } | { inUse: number } | null;

/**
 * Soft-deletes a voice unless lines are still to be spoken with it (queued, submitting or
 * running speech lines): those would fail for want of it. The voice row is locked first, so a
 * batch inserting lines for it (which holds it FOR SHARE) either committed before the count or
 * finds the voice deleted. Null when there is no such voice (or it is already deleted).
 */
export async function softDeleteVoice(
  db: Executor,
  params: { tenantId: string; id: string },
): Promise<DeleteVoiceOutcome> {
  return db.transaction(async (tx) => {
    const [voice] = await tx
      .select()
      .from(voices)
      .where(
        and(
          eq(voices.id, params.id),
          eq(voices.tenantId, params.tenantId),
          isNull(voices.deletedAt),
        ),
      )
      .for('update');
    if (!voice) return null;
    const [active] = await tx
      .select({ n: count() })
      .from(cloneJobs)
      .where(
        and(
          eq(cloneJobs.voiceId, voice.id),
          eq(cloneJobs.kind, 'speech'),
          activeStatusSql(cloneJobs.status),
        ),
      );
    if (active && active.n > 0) return { inUse: active.n };
    const [deleted] = await tx
      .update(voices)
      .set({ deletedAt: sql`now()`, updatedAt: sql`now()` })
      .where(eq(voices.id, voice.id))
      .returning();
    if (!deleted) throw new Error(`voice ${voice.id} vanished while locked`);
    await appendVoiceEvent(tx, {
      voiceId: voice.id,
      kind: 'deleted',
      from: voice.status,
      to: null,
    });
    return { deleted };
  });
}

/**
 * A voice whose clone failed goes back to `cloning` because that same clone task was
 * redriven (no new task: the redriven one is its clone). Compare-and-set on the failed status
 * and the current clone task; null when the voice is elsewhere.
 */
export async function resumeVoiceClone(
  tx: Executor,
  params: { tenantId: string; voiceId: string; cloneJobId: string },
): Promise<Voice | null> {
  const [voice] = await tx
    .update(voices)
    .set({ status: 'cloning', errorCode: null, errorMessage: null, updatedAt: sql`now()` })
    .where(
      and(
        eq(voices.id, params.voiceId),
        eq(voices.tenantId, params.tenantId),
        eq(voices.status, 'failed'),
        eq(voices.cloneJobId, params.cloneJobId),
        isNull(voices.deletedAt),
      ),
    )
    .returning();
  if (!voice) return null;
  await appendVoiceEvent(tx, {
    voiceId: voice.id,
    kind: 'redrive',
    from: 'failed',
    to: 'cloning',
    detail: { cloneJobId: params.cloneJobId },
  });
  return voice;
}
