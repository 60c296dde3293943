import { and, desc, eq, isNull, sql } from 'drizzle-orm';
import type { Executor } from '../client.js';
import { type AudioResult, audioResults } from '../schema/audio-results.js';
import { cloneJobs } from '../schema/clone-jobs.js';
import { type Voice, voices } from '../schema/voices.js';

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
