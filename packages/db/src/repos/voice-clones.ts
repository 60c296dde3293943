import { and, eq, isNull, sql } from 'drizzle-orm';
import type { Executor } from '../client.js';
import { newId } from '../ids.js';
import { type CloneJob, cloneJobs, type VoiceCloneRequest } from '../schema/clone-jobs.js';
import type { VoiceStatus } from '../schema/enums.js';
import { tenants } from '../schema/tenants.js';
import { voiceEvents } from '../schema/voice-events.js';
import { type NewVoiceReference, voiceReferences } from '../schema/voice-references.js';
import { type NewVoice, type Voice, voices } from '../schema/voices.js';
import { insertCloneJobs } from './clone-jobs.js';

// The deployment's shared account (DEFAULT_ACCOUNT in @voxline/queue, which db does not import).
const DEFAULT_VOICE_ACCOUNT = 'default';

/**
 * The custom_voice_id base voxline generates for a voice: `vx` and the voice id's hex digits.
 * It satisfies the contract's rules (starts with a letter, letters and digits only, a UUIDv7's
 * leading timestamp holds digits) and the worker suffixes it per clone attempt, so no two
 * attempts ever register the same id upstream (a duplicate id is MiniMax error 2039).
 */
export function upstreamVoiceIdBase(voiceId: string): string {
  return `vx${voiceId.replaceAll('-', '')}`;
}

/** The voice-clone request of a voice's clone task; `audio` is "" for an uploaded reference. */
export function voiceCloneRequest(voice: Voice): VoiceCloneRequest {
  const { settings } = voice;
  return {
    audio: voice.audioUrl ?? '',
    custom_voice_id: upstreamVoiceIdBase(voice.id),
    text: voice.previewText,
    need_noise_reduction: settings.need_noise_reduction,
    need_volume_normalization: settings.need_volume_normalization,
    model: settings.model,
    ...(settings.accuracy !== undefined ? { accuracy: settings.accuracy } : {}),
    ...(settings.language_boost !== undefined ? { language_boost: settings.language_boost } : {}),
  };
}

export interface CloneTaskOptions {
  /** BullMQ priority of the clone task (the queue package's PRIORITY.interactive). */
  priority: number;
  /** The price list's voice-clone price. */
  estimatedCost: number;
}

async function insertCloneTask(
  tx: Executor,
  voice: Voice,
  cloneJobId: string,
  options: CloneTaskOptions,
): Promise<CloneJob> {
  await insertCloneJobs(tx, [
    {
      id: cloneJobId,
      tenantId: voice.tenantId,
      kind: 'voice_clone',
      voiceId: voice.id,
      priority: options.priority,
      request: voiceCloneRequest(voice),
      estimatedCost: options.estimatedCost,
      metadata: null,
    },
  ]);
  const [job] = await tx.select().from(cloneJobs).where(eq(cloneJobs.id, cloneJobId));
  if (!job) throw new Error(`clone task ${cloneJobId} vanished inside its own transaction`);
  return job;
}

export async function appendVoiceEvent(
  tx: Executor,
  event: {
    voiceId: string;
    kind: string;
    from: VoiceStatus | null;
    to: VoiceStatus | null;
    detail?: Record<string, unknown>;
  },
): Promise<void> {
  await tx.insert(voiceEvents).values({
    voiceId: event.voiceId,
    kind: event.kind,
    fromStatus: event.from,
    toStatus: event.to,
    detail: event.detail ?? null,
  });
}

/**
 * Creates a voice in `cloning` with its first clone task (and its reference file, if it was
 * uploaded), inside the caller's transaction. The caller enqueues the task's submit once
 * the transaction committed.
 */
export async function createVoiceWithClone(
  tx: Executor,
  params: {
    voice: Omit<NewVoice, 'status' | 'cloneJobId' | 'clones'>;
    reference?: Omit<NewVoiceReference, 'voiceId' | 'tenantId'>;
  } & CloneTaskOptions,
): Promise<{ voice: Voice; job: CloneJob }> {
  const cloneJobId = newId();
  // The tenant's current account (accountOf): its clone runs there, and markVoiceReady records
  // the account it did run on.
  const account = sql<string>`coalesce((select ${tenants.upstreamAccountId} from ${tenants} where ${tenants.id} = ${params.voice.tenantId}), ${DEFAULT_VOICE_ACCOUNT})`;
  const [inserted] = await tx
    .insert(voices)
    .values({ ...params.voice, account, status: 'cloning', cloneJobId, clones: 1 })
    .returning();
  if (!inserted) throw new Error('voice insert returned nothing');
  if (params.reference) {
    await tx
      .insert(voiceReferences)
      .values({ ...params.reference, voiceId: inserted.id, tenantId: inserted.tenantId });
  }
  const job = await insertCloneTask(tx, inserted, cloneJobId, params);
  await appendVoiceEvent(tx, {
    voiceId: inserted.id,
    kind: 'created',
    from: null,
    to: 'cloning',
    detail: { cloneJobId },
  });
  return { voice: inserted, job };
}

/**
 * Clones a voice again: upstream forgot it (`from: 'ready'` with the upstream id the failing
 * task used), or its clone failed and its lines are redriven (`from: 'failed'`). A
 * compare-and-set on the voice row: of many lines that hit the same deletion at once, exactly
 * one gets the new clone task back; the others get null and simply wait for the voice again.
 */
export async function restartVoiceClone(
  tx: Executor,
  params: {
    tenantId: string;
    voiceId: string;
    from: 'ready' | 'failed';
    /** With `from: 'ready'`: the upstream id that upstream no longer knows. */
    missingUpstreamVoiceId?: string;
    reason: string;
  } & CloneTaskOptions,
): Promise<{ voice: Voice; job: CloneJob } | null> {
  const cloneJobId = newId();
  const [voice] = await tx
    .update(voices)
    .set({
      status: 'cloning',
      upstreamVoiceId: null,
      cloneJobId,
      clones: sql`${voices.clones} + 1`,
      readyAt: null,
      errorCode: null,
      errorMessage: null,
      updatedAt: sql`now()`,
    })
    .where(
      and(
        eq(voices.id, params.voiceId),
        eq(voices.tenantId, params.tenantId),
        eq(voices.status, params.from),
        isNull(voices.deletedAt),
        params.missingUpstreamVoiceId === undefined
          ? undefined
          : eq(voices.upstreamVoiceId, params.missingUpstreamVoiceId),
      ),
    )
    .returning();
  if (!voice) return null;
  const job = await insertCloneTask(tx, voice, cloneJobId, params);
  await appendVoiceEvent(tx, {
    voiceId: voice.id,
    kind: 'reclone',
    from: params.from,
    to: 'cloning',
    detail: {
      cloneJobId,
      reason: params.reason,
      ...(params.missingUpstreamVoiceId ? { missing: params.missingUpstreamVoiceId } : {}),
    },
  });
  return { voice, job };
}
