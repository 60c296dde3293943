import { setTimeout as sleep } from 'node:timers/promises';
import type { FastifyReply } from 'fastify';
import type { SimReply } from './bodies.js';

/** Sends a simulator reply, late or damaged when a fault says so. */
export async function sendReply(
  reply: FastifyReply,
  r: SimReply,
  closing: AbortSignal,
): Promise<FastifyReply> {
  if (r.delayMs) {
    // Ends early when the server closes; the connection is gone by then anyway.
    await sleep(r.delayMs, undefined, { signal: closing }).catch(() => undefined);
  }
  const html = typeof r.body === 'string';
  let text = html ? (r.body as string) : JSON.stringify(r.body);
  if (r.damage === 'truncatedJson') text = text.slice(0, Math.max(1, Math.floor(text.length / 2)));
  // An unquoted first key: what a broken proxy or a bad serializer might produce.
  if (r.damage === 'malformedJson') text = text.replace('{"', '{');
  return reply
    .code(r.status)
    .headers({
      ...r.headers,
      'content-type': html ? 'text/html; charset=utf-8' : 'application/json; charset=utf-8',
    })
    .send(text);
}
