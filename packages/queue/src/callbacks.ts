import { jobIds } from './catalog.js';
import type { RedisClient } from './connection.js';
import type { Queues } from './registry.js';

/**
 * What RunningHub's callbacks leave in Redis, for the worker's submit and poll steps. The API's
 * callback route writes it (`noteCallback`); the worker reads it. Keys start with the queue
 * prefix (a hash tag), like the slot sets, so they share a Redis Cluster slot with the queues.
 *
 * - `<prefix>:callback:<cloneJobId>:<run>`: a callback came for that run. It covers the race
 *   where the callback beats the poll job: the submit step, right after enqueueing the poll
 *   job, finds it and promotes the poll itself.
 * - `<prefix>:callbacks-seen`: a hash, field `kind|model`, value the ms time the last callback
 *   for a task of that kind and model came. While recent, the poll schedule stretches.
 */

// Long enough to outlive any gap between a submit answering and its poll job being queued
// (milliseconds, or a worker retrying its step after a Redis blip), short enough that flags of
// finished tasks do not pile up.
export const CALLBACK_FLAG_TTL_S = 600;

export const callbackKeys = {
  flag: (prefix: string, cloneJobId: string, run: number) =>
    `${prefix}:callback:${cloneJobId}:${run}`,
  seen: (prefix: string) => `${prefix}:callbacks-seen`,
} as const;

/** A task's kind as clone_jobs stores it: `voice_clone` or `speech`. */
type TaskKind = string;

/** The `callbacks-seen` field of a task's kind and model. */
export function callbackSeenField(kind: TaskKind, model: string): string {
  return `${kind}|${model}`;
}

export interface CallbackNote {
  cloneJobId: string;
  run: number;
  kind: TaskKind;
  model: string;
  /** When it came, in ms; now unless a test says otherwise. */
  at?: number;
}

/** Records that a callback came: the run's flag and the kind|model's last arrival, at once. */
export async function noteCallback(
  redis: RedisClient,
  prefix: string,
  note: CallbackNote,
): Promise<void> {
  const at = note.at ?? Date.now();
  await redis
    .multi()
    .set(
      callbackKeys.flag(prefix, note.cloneJobId, note.run),
      String(at),
      'EX',
      CALLBACK_FLAG_TTL_S,
    )
    .hset(callbackKeys.seen(prefix), callbackSeenField(note.kind, note.model), String(at))
    .exec();
}

/** Whether a callback came for this run (within CALLBACK_FLAG_TTL_S). */
export async function callbackArrived(
  redis: RedisClient,
  prefix: string,
  job: { cloneJobId: string; run: number },
): Promise<boolean> {
  return (await redis.exists(callbackKeys.flag(prefix, job.cloneJobId, job.run))) === 1;
}

/** When the last callback for a task of this kind and model came (ms), or null if none did. */
export async function lastCallbackAt(
  redis: RedisClient,
  prefix: string,
  task: { kind: TaskKind; model: string },
): Promise<number | null> {
  const value = await redis.hget(
    callbackKeys.seen(prefix),
    callbackSeenField(task.kind, task.model),
  );
  if (value === null) return null;
  const at = Number(value);
  return Number.isFinite(at) ? at : null;
}

/**
 * Makes the run's poll job run now if it is waiting out a delay. Returns whether it promoted
 * one: false when there is no poll job yet (the submit step will see the flag), or it is
 * already waiting or running (it will query anyway).
 */
export async function promotePoll(
  queues: Pick<Queues, 'clonePoll'>,
  job: { cloneJobId: string; run: number },
): Promise<boolean> {
  const poll = await queues.clonePoll.getJob(jobIds.poll(job.cloneJobId, job.run));
  if (!poll) return false;
  try {
    await poll.promote();
    return true;
  } catch {
    // Not delayed any more: it left the delayed set between the read and the promote.
    return false;
  }
}
