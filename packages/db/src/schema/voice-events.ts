import { bigserial, index, jsonb, pgTable, text, timestamp, uuid } from 'drizzle-orm/pg-core';
import { voiceStatus } from './enums.js';
import { voices } from './voices.js';

/** Append-only history of a voice: each status change (a clone, a re-clone, a failure). */
export const voiceEvents = pgTable(
  'voice_events',
  {
    id: bigserial('id', { mode: 'number' }).primaryKey(),
    voiceId: uuid('voice_id')
      .notNull()
      .references(() => voices.id, { onDelete: 'cascade' }),
    kind: text('kind').notNull(),
    fromStatus: voiceStatus('from_status'),
    toStatus: voiceStatus('to_status'),
    detail: jsonb('detail').$type<Record<string, unknown>>(),
    createdAt: timestamp('created_at', { withTimezone: true }).notNull().defaultNow(),
  },
  (t) => [index('voice_events_voice_idx').on(t.voiceId, t.id)],
);

export type VoiceEvent = typeof voiceEvents.$inferSelect;
