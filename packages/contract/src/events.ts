export const EVENT_TYPES = [
  'clone.succeeded',
  'clone.failed',
  'clone.canceled',
  'batch.completed',
  'voice.ready',
  'voice.failed',
] as const;
export type EventType = (typeof EVENT_TYPES)[number];

/** The body of every webhook: Standard Webhooks' recommended envelope. */
export interface EventEnvelope<T = unknown> {
  type: EventType;
  timestamp: string;
  data: T;
}
