import type { Usage } from '@voxline/runninghub';
import { jsonb, pgTable, text, timestamp, uuid } from 'drizzle-orm/pg-core';
import { cloneJobs } from './clone-jobs.js';

/** As the client parsed it: a field upstream left out or sent as null is stored as null. */
export type UpstreamUsage = Usage;

export const audioResults = pgTable('audio_results', {
  cloneJobId: uuid('clone_job_id')
    .primaryKey()
    .references(() => cloneJobs.id, { onDelete: 'cascade' }),
  url: text('url').notNull(),
  outputType: text('output_type'),
  upstreamTaskId: text('upstream_task_id').notNull(),
  usage: jsonb('usage').$type<UpstreamUsage>(),
  // Upstream result links are temporary (about a day); this is when we expect it to lapse.
  urlExpiresAt: timestamp('url_expires_at', { withTimezone: true }),
  // The whole upstream response, kept for debugging disputes about a result.
  raw: jsonb('raw').notNull(),
  createdAt: timestamp('created_at', { withTimezone: true }).notNull().defaultNow(),
});

export type AudioResult = typeof audioResults.$inferSelect;
