import { customType, integer, pgTable, text, timestamp, uuid } from 'drizzle-orm/pg-core';
import { tenants } from './tenants.js';
import { voices } from './voices.js';

const bytea = customType<{ data: Buffer; driverData: Buffer }>({
  dataType: () => 'bytea',
});

/**
 * A reference audio file uploaded to voxline (multipart). Kept, at most 10 MB (RunningHub's
 * limit), because a voice upstream forgot is cloned again from it, and upstream's own upload
 * links are not known to last.
 */
export const voiceReferences = pgTable('voice_references', {
  voiceId: uuid('voice_id')
    .primaryKey()
    .references(() => voices.id, { onDelete: 'cascade' }),
  tenantId: uuid('tenant_id')
    .notNull()
    .references(() => tenants.id, { onDelete: 'cascade' }),
  fileName: text('file_name').notNull(),
  contentType: text('content_type').notNull(),
  sha256: text('sha256').notNull(),
  size: integer('size').notNull(),
  bytes: bytea('bytes').notNull(),
  createdAt: timestamp('created_at', { withTimezone: true }).notNull().defaultNow(),
});

export type VoiceReference = typeof voiceReferences.$inferSelect;
export type NewVoiceReference = typeof voiceReferences.$inferInsert;
