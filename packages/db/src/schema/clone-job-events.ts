import { bigserial, index, jsonb, pgTable, text, timestamp, uuid } from 'drizzle-orm/pg-core';
import { cloneJobs } from './clone-jobs.js';
import { cloneStatus } from './enums.js';

/**
 * Append-only history of a clone job: every status transition, and notable facts that are not
 * transitions (an ambiguous submit, a retry, a redrive), so nothing is ever rewritten.
 */
export const cloneJobEvents = pgTable(
  'clone_job_events',
  {
    id: bigserial('id', { mode: 'number' }).primaryKey(),
    cloneJobId: uuid('clone_job_id')
      .notNull()
      .references(() => cloneJobs.id, { onDelete: 'cascade' }),
    kind: text('kind').notNull(),
    fromStatus: cloneStatus('from_status'),
    toStatus: cloneStatus('to_status'),
    detail: jsonb('detail').$type<Record<string, unknown>>(),
    createdAt: timestamp('created_at', { withTimezone: true }).notNull().defaultNow(),
  },
  (t) => [
    index('clone_job_events_job_idx').on(t.cloneJobId, t.id),
    index('clone_job_events_kind_idx').on(t.kind, t.createdAt),
  ],
);

export type CloneJobEvent = typeof cloneJobEvents.$inferSelect;
