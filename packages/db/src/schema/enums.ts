import {
  BATCH_STATUSES,
  type BatchStatus,
  CLONE_STATUSES,
  type CloneStatus,
  DELIVERY_STATUSES,
  type DeliveryStatus,
  TASK_KINDS,
  type TaskKind,
  VOICE_STATUSES,
  type VoiceStatus,
} from '@voxline/contract';
import { type Column, type SQL, sql } from 'drizzle-orm';
import { pgEnum } from 'drizzle-orm/pg-core';

// The statuses are the public contract's: the database stores exactly what the API shows.
export {
  BATCH_STATUSES,
  type BatchStatus,
  CLONE_STATUSES,
  type CloneStatus,
  DELIVERY_STATUSES,
  type DeliveryStatus,
  TASK_KINDS,
  type TaskKind,
  VOICE_STATUSES,
  type VoiceStatus,
};
export const TERMINAL_STATUSES = [
  'succeeded',
  'failed',
  'canceled',
] as const satisfies readonly CloneStatus[];
export const ACTIVE_STATUSES = [
  'queued',
  'submitting',
  'running',
] as const satisfies readonly CloneStatus[];
export const cloneStatus = pgEnum('clone_status', CLONE_STATUSES);

export function isTerminalStatus(status: CloneStatus): boolean {
  return (TERMINAL_STATUSES as readonly CloneStatus[]).includes(status);
}

export function isActiveStatus(status: CloneStatus): boolean {
  return (ACTIVE_STATUSES as readonly CloneStatus[]).includes(status);
}

/**
 * `column in ('queued', 'submitting', 'running')` with the statuses written as literals, not
 * bound: the planner can then match the partial index `clone_jobs_active_idx` (whose predicate
 * is this one) whatever plan a prepared statement gets.
 */
export function activeStatusSql(column: Column): SQL {
  return sql`${column} in (${sql.raw(ACTIVE_STATUSES.map((s) => `'${s}'`).join(', '))})`;
}

export const batchStatus = pgEnum('batch_status', BATCH_STATUSES);

export const deliveryStatus = pgEnum('delivery_status', DELIVERY_STATUSES);

export const voiceStatus = pgEnum('voice_status', VOICE_STATUSES);

export const taskKind = pgEnum('task_kind', TASK_KINDS);
