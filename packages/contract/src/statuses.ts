/**
 * The statuses the public API shows. The database stores exactly these (its enums in
 * @voxline/db are built from them), so they are defined here, below the database, where the
 * CLI can read them without loading a Postgres driver.
 */
export const CLONE_STATUSES = [
  'queued',
  'submitting',
  'running',
  'succeeded',
  'failed',
  'canceled',
] as const;
export type CloneStatus = (typeof CLONE_STATUSES)[number];

export const BATCH_STATUSES = ['running', 'completed', 'canceled'] as const;
export type BatchStatus = (typeof BATCH_STATUSES)[number];

/** A voice: being cloned upstream, usable, or its clone failed (see its error). */
export const VOICE_STATUSES = ['cloning', 'ready', 'failed'] as const;
export type VoiceStatus = (typeof VOICE_STATUSES)[number];

/** What an upstream task does: clone a voice (and speak its preview), or speak a line. */
export const TASK_KINDS = ['voice_clone', 'speech'] as const;
export type TaskKind = (typeof TASK_KINDS)[number];

export const DELIVERY_STATUSES = ['pending', 'succeeded', 'failed'] as const;
export type DeliveryStatus = (typeof DELIVERY_STATUSES)[number];

export type StatusCounts = Record<CloneStatus, number>;

/** Lines of a batch that will not change again: succeeded, failed or canceled. */
export function terminalCount(c: StatusCounts): number {
  return c.succeeded + c.failed + c.canceled;
}
