import type { LanguageBoost, VoiceCloneModel } from '@voxline/runninghub';
import { sql } from 'drizzle-orm';
import {
  boolean,
  index,
  integer,
  jsonb,
  pgTable,
  text,
  timestamp,
  uniqueIndex,
  uuid,
} from 'drizzle-orm/pg-core';
import { voiceStatus } from './enums.js';
import { tenants } from './tenants.js';

/** How a voice is cloned: every voice-clone field but the reference audio, the id and the text. */
export interface VoiceCloneSettings {
  model: VoiceCloneModel;
  accuracy?: number;
  need_noise_reduction: boolean;
  need_volume_normalization: boolean;
  language_boost?: LanguageBoost;
}

/**
 * A tenant's cloned voice: cloned once upstream, then every line that names it is a speech task
 * with its `upstream_voice_id`. Upstream forgets a clone unused for 7 days; the voice then
 * goes back to `cloning` from its stored reference audio (a new clone task, a new upstream id).
 */
export const voices = pgTable(
  'voices',
  {
    id: uuid('id').primaryKey(),
    tenantId: uuid('tenant_id')
      .notNull()
      .references(() => tenants.id, { onDelete: 'cascade' }),
    name: text('name'),
    // The upstream account (see accounts.ts) that cloned it: a voice exists only for that key.
    account: text('account').notNull().default('default'),
    status: voiceStatus('status').notNull().default('cloning'),
    // The reference audio's URL as the tenant gave it; null when it was uploaded as a file
    // (the bytes are in voice_references and are uploaded upstream for each clone).
    audioUrl: text('audio_url'),
    settings: jsonb('settings').$type<VoiceCloneSettings>().notNull(),
    previewText: text('preview_text').notNull(),
    // SHA-256 of the canonical reference and settings: a batch's inline voice reuses a voice
    // of the same tenant with the same hash instead of cloning again.
    settingsHash: text('settings_hash').notNull(),
    // The custom_voice_id upstream knows this voice by; null until a clone succeeded.
    upstreamVoiceId: text('upstream_voice_id'),
    // The clone task (a clone_jobs row of kind voice_clone) of the current or last clone.
    cloneJobId: uuid('clone_job_id'),
    // Clones made for this voice: 1, plus one per upstream deletion (or redrive of a failure).
    clones: integer('clones').notNull().default(0),
    keepAlive: boolean('keep_alive').notNull().default(false),
    keepAliveAt: timestamp('keep_alive_at', { withTimezone: true }),
    lastUsedAt: timestamp('last_used_at', { withTimezone: true }),
    // When upstream is expected to forget the voice: last use plus 7 days (MiniMax).
    expiresAt: timestamp('expires_at', { withTimezone: true }),
    readyAt: timestamp('ready_at', { withTimezone: true }),
    errorCode: text('error_code'),
    errorMessage: text('error_message'),
    // The batch whose inline voice created this one: its clone is part of the batch's cost.
    createdByBatchId: uuid('created_by_batch_id'),
    metadata: jsonb('metadata').$type<Record<string, unknown>>(),
    idempotencyKey: text('idempotency_key'),
    requestHash: text('request_hash'),
    createdAt: timestamp('created_at', { withTimezone: true }).notNull().defaultNow(),
    updatedAt: timestamp('updated_at', { withTimezone: true }).notNull().defaultNow(),
    deletedAt: timestamp('deleted_at', { withTimezone: true }),
  },
  (t) => [
    uniqueIndex('voices_tenant_idempotency_key_uq')
      .on(t.tenantId, t.idempotencyKey)
      .where(sql`${t.idempotencyKey} is not null`),
    // GET /v1/voices pages newest first by id (a UUIDv7, so time-ordered).
    index('voices_tenant_id_idx').on(t.tenantId, t.id).where(sql`${t.deletedAt} is null`),
    index('voices_tenant_settings_idx')
      .on(t.tenantId, t.settingsHash)
      .where(sql`${t.deletedAt} is null`),
    // The keep-alive scan: kept voices by when upstream would forget them.
    index('voices_keep_alive_idx')
      .on(t.expiresAt)
      .where(sql`${t.keepAlive} and ${t.deletedAt} is null`),
  ],
);

export type Voice = typeof voices.$inferSelect;
export type NewVoice = typeof voices.$inferInsert;
