/**
 * How a callback's `eventData` travels: a JSON string (RunningHub v1, documented), an object
 * (seen in a v2 write-up), or each in turn, task by task, so that a receiver meets both.
 */
export const CALLBACK_EVENT_DATA = ['alternate', 'string', 'object'] as const;
export type CallbackEventData = (typeof CALLBACK_EVENT_DATA)[number];

/** The callback body RunningHub POSTs to a task's webhookUrl when the task ends. */
export function callbackBody(
  taskId: string,
  queryBody: Record<string, unknown>,
  form: 'string' | 'object',
): string {
  return JSON.stringify({
    event: 'TASK_END',
    taskId,
    eventData: form === 'string' ? JSON.stringify(queryBody) : queryBody,
  });
}

/** The submit body as billed: the callback address is not part of it. */
export function withoutWebhook(body: unknown): unknown {
  if (!body || typeof body !== 'object' || Array.isArray(body) || !('webhookUrl' in body)) {
    return body;
  }
  const { webhookUrl: _, ...rest } = body as Record<string, unknown>;
  return rest;
}

/**
 * A submit's `webhookUrl`: absent (undefined, null or ''), an http(s) URL, or an error message.
 * The simulator is a test double: loopback and private addresses are allowed.
 */
export function webhookUrlOf(body: unknown): { url: string | null } | { error: string } {
  if (!body || typeof body !== 'object') return { url: null };
  const value = (body as Record<string, unknown>).webhookUrl;
  if (value === undefined || value === null || value === '') return { url: null };
  const invalid = { error: 'PARAMS_INVALID: webhookUrl must be an http(s) URL' };
  if (typeof value !== 'string') return invalid;
  try {
    const url = new URL(value);
    return url.protocol === 'http:' || url.protocol === 'https:' ? { url: value } : invalid;
  } catch {
    return invalid;
  }
}
