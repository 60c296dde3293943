import {
  type CloneJob,
  cloneJobs,
  createVoiceWithClone,
  insertBatch,
  insertCloneJobs,
  newId,
  type SpeechRequest,
  type Voice,
  voices,
} from '@voxline/db';
import { enqueue, PRIORITY, submitJob } from '@voxline/queue';
import { estimateTaskCost, type SpeechModel, type SystemVoice } from '@voxline/runninghub';
import { waitFor } from '@voxline/testing';
import { eq } from 'drizzle-orm';
import type { Harness } from './harness.js';

/**
 * Voices and speech lines written the way the API writes them (the same repos, then the
 * submit jobs after commit), for worker tests that do not run the API.
 */

export const REFERENCE_URL = 'https://example.com/narrator.wav';

export interface VoiceOptions {
  /** The clone's preview text: simulator markers here steer the clone task. */
  previewText?: string;
  keepAlive?: boolean;
  /** An uploaded reference file instead of a URL. */
  file?: { bytes: Buffer; fileName: string; contentType: string };
}

/** A voice in `cloning` with its first clone task, whose submit is queued. */
export async function createVoice(
  h: Harness,
  options: VoiceOptions = {},
): Promise<{ voice: Voice; cloneJob: CloneJob }> {
  const id = newId();
  const { voice, job } = await h.db.db.transaction((tx) =>
    createVoiceWithClone(tx, {
      voice: {
        id,
        tenantId: h.tenantId,
        name: 'narrator',
        audioUrl: options.file ? null : REFERENCE_URL,
        settings: {
          model: 'speech-02-hd',
          need_noise_reduction: false,
          need_volume_normalization: false,
        },
        previewText: options.previewText ?? 'Hello, this is the voice of every line.',
        settingsHash: id,
        keepAlive: options.keepAlive ?? false,
      },
      ...(options.file
        ? {
            reference: {
              fileName: options.file.fileName,
              contentType: options.file.contentType,
              sha256: id,
              size: options.file.bytes.length,
              bytes: options.file.bytes,
            },
          }
        : {}),
      priority: PRIORITY.interactive,
      estimatedCost: h.runtime.context.prices.voiceClonePerCall,
    }),
  );
  await enqueue(h.runtime.context.queues, 'cloneSubmit', [submitJob(job)]);
  return { voice, cloneJob: job };
}

export interface SpeechOptions {
  batch?: boolean;
  model?: SpeechModel;
  systemVoice?: SystemVoice;
  /** Insert only; the test enqueues (or not). */
  enqueue?: boolean;
}

/** Speech lines of a voice (or a system voice), with their estimated cost; their submits queued. */
export async function submitSpeech(
  h: Harness,
  voiceId: string | null,
  texts: string[],
  options: SpeechOptions = {},
): Promise<{ ids: string[]; rows: CloneJob[]; batchId: string | null }> {
  const model = options.model ?? 'speech-02-hd';
  const batchId = options.batch ? newId() : null;
  const priority = options.batch ? PRIORITY.batch : PRIORITY.interactive;
  const rows = texts.map((text, i) => {
    const request: SpeechRequest = {
      model,
      text,
      ...(options.systemVoice ? { system_voice: options.systemVoice } : {}),
    };
    return {
      id: newId(),
      tenantId: h.tenantId,
      kind: 'speech' as const,
      voiceId,
      batchId,
      lineIndex: options.batch ? i : null,
      priority,
      request,
      estimatedCost: estimateTaskCost(h.runtime.context.prices, { kind: 'speech', model, text }),
    };
  });
  await h.db.db.transaction(async (tx) => {
    if (batchId) {
      await insertBatch(tx, {
        id: batchId,
        tenantId: h.tenantId,
        total: rows.length,
        voice: { voice_id: voiceId, model },
        voiceId,
        requestHash: batchId,
      });
    }
    for (let i = 0; i < rows.length; i += 2_000)
      await insertCloneJobs(tx, rows.slice(i, i + 2_000));
  });
  const inserted = await h.jobs(rows.map((r) => r.id));
  if (options.enqueue ?? true) {
    await enqueue(
      h.runtime.context.queues,
      'cloneSubmit',
      inserted.map((row) => submitJob(row)),
    );
  }
  return { ids: rows.map((r) => r.id), rows: inserted, batchId };
}

export async function readVoice(h: Harness, id: string): Promise<Voice> {
  const [row] = await h.db.db.select().from(voices).where(eq(voices.id, id));
  if (!row) throw new Error(`voice ${id} is gone`);
  return row;
}

export async function waitVoice(
  h: Harness,
  id: string,
  status: Voice['status'],
  timeoutMs = 30_000,
): Promise<Voice> {
  return waitFor(
    `voice ${id} to be ${status}`,
    async () => {
      const voice = await readVoice(h, id);
      return voice.status === status ? voice : undefined;
    },
    { timeoutMs, intervalMs: 50 },
  );
}

/** The voice's clone tasks (clone_jobs rows of kind voice_clone), oldest first. */
export async function cloneTasksOf(h: Harness, voiceId: string): Promise<CloneJob[]> {
  const rows = await h.db.db.select().from(cloneJobs).where(eq(cloneJobs.voiceId, voiceId));
  return rows.filter((r) => r.kind === 'voice_clone').sort((a, b) => (a.id < b.id ? -1 : 1));
}
