import type { Usage } from '@voxline/runninghub';
import { bigint, integer, jsonb, pgTable, text, timestamp, uuid } from 'drizzle-orm/pg-core';
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
  // voxline's own copy in the audio store (AUDIO_STORE), read from the stored file itself;
  // null until archived (and for results stored before the audio store existed).
  storageKey: text('storage_key'),
  sha256: text('sha256'),
  bytes: bigint('bytes', { mode: 'number' }),
  format: text('format'),
  contentType: text('content_type'),
  durationMs: integer('duration_ms'),
  sampleRate: integer('sample_rate'),
  channels: integer('channels'),
  archivedAt: timestamp('archived_at', { withTimezone: true }),
  // Set when AUDIO_RETENTION_DAYS removed the stored file.
  purgedAt: timestamp('purged_at', { withTimezone: true }),
  createdAt: timestamp('created_at', { withTimezone: true }).notNull().defaultNow(),
});

export type AudioResult = typeof audioResults.$inferSelect;
