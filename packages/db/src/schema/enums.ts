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

export const BATCH_STATUSES = ['running', 'completed', 'canceled'] as const;
export type BatchStatus = (typeof BATCH_STATUSES)[number];
export const batchStatus = pgEnum('batch_status', BATCH_STATUSES);

export const DELIVERY_STATUSES = ['pending', 'succeeded', 'failed'] as const;
export type DeliveryStatus = (typeof DELIVERY_STATUSES)[number];
export const deliveryStatus = pgEnum('delivery_status', DELIVERY_STATUSES);
