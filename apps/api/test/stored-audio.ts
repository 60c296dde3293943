import { createHash, randomBytes } from 'node:crypto';
import { Readable } from 'node:stream';
import type { AudioStore } from '@voxline/audio-store';
import { insertAudioResult, transitionCloneJob } from '@voxline/db';
import type { Api } from './harness.js';

export function sha256(bytes: Buffer): string {
  return createHash('sha256').update(bytes).digest('hex');
}

/** Bytes that look like nothing in particular: a range served from the wrong offset shows. */
export function noise(length: number): Buffer {
  return randomBytes(length);
}

/**
 * What the worker leaves behind for a line whose result it archived, written with the repo
 * functions: the line moved queued → submitting → running → succeeded, its audio row with the
 * upstream link and the archive columns, and (with `store`) the file itself under `key`.
 */
export async function storeResult(
  api: Api,
  params: {
    tenantId: string;
    cloneJobId: string;
    bytes?: Buffer;
    store?: AudioStore;
    archived?: boolean;
  },
) {
  const { db } = api.database;
  const { tenantId, cloneJobId } = params;
  const bytes = params.bytes ?? noise(2_048);
  const key = `${tenantId}/${cloneJobId}-1.wav`;
  if (params.store) {
    await params.store.put(key, Readable.from([bytes]), { contentType: 'audio/wav' });
  }
  const taskId = String(1_000_000 + Math.floor(Math.random() * 1_000_000));
  for (const [from, to] of [
    ['queued', 'submitting'],
    ['submitting', 'running'],
  ] as const) {
    await transitionCloneJob(db, {
      tenantId,
      id: cloneJobId,
      from: [from],
      to,
      ...(to === 'running' ? { set: { upstreamTaskId: taskId, attempts: 1 } } : {}),
    });
  }
  const archived = params.archived ?? true;
  const audio = await insertAudioResult(db, {
    tenantId,
    cloneJobId,
    url: `https://cdn.runninghub.example/${taskId}.wav`,
    outputType: 'wav',
    upstreamTaskId: taskId,
    usage: {
      consumeMoney: '0.0021',
      consumeCoins: null,
      taskCostTime: '3',
      thirdPartyConsumeMoney: null,
    },
    urlExpiresAt: new Date(Date.now() + 24 * 3_600_000),
    raw: { taskId, status: 'SUCCESS' },
    ...(archived
      ? {
          storageKey: key,
          sha256: sha256(bytes),
          bytes: bytes.length,
          format: 'wav',
          contentType: 'audio/wav',
          durationMs: 1_000,
          sampleRate: 24_000,
          channels: 1,
          archivedAt: new Date(),
        }
      : {}),
  });
  const job = await transitionCloneJob(db, {
    tenantId,
    id: cloneJobId,
    from: ['running'],
    to: 'succeeded',
    set: { actualCost: 0.0021 },
  });
  if (!job || !audio) throw new Error(`could not store a result for ${cloneJobId}`);
  return { job, audio, key, bytes };
}
