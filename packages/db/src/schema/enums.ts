import { type Column, type SQL, sql } from 'drizzle-orm';
import { pgEnum } from 'drizzle-orm/pg-core';

export const CLONE_STATUSES = [
  'queued',
  'submitting',
  'running',
  'succeeded',
  'failed',
  'canceled',
] as const;
export type CloneStatus = (typeof CLONE_STATUSES)[number];
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

export const BATCH_STATUSES = ['running', 'completed', 'canceled'] as const;
export type BatchStatus = (typeof BATCH_STATUSES)[number];
export const batchStatus = pgEnum('batch_status', BATCH_STATUSES);

export const DELIVERY_STATUSES = ['pending', 'succeeded', 'failed'] as const;
export type DeliveryStatus = (typeof DELIVERY_STATUSES)[number];
export const deliveryStatus = pgEnum('delivery_status', DELIVERY_STATUSES);
