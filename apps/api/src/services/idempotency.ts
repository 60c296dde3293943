import { createHash } from 'node:crypto';
import { canonicalJson } from '@voxline/contract';

/**
 * The `request_hash` stored beside an Idempotency-Key: SHA-256 of the canonical body (keys
 * sorted, so two bodies that mean the same thing hash the same whatever order a client
 * serialised them in). Bodies are hashed after validation, with defaults applied: leaving out
 * `model` and sending its default is the same request.
 */
export function requestHash(body: unknown): string {
  return createHash('sha256').update(canonicalJson(body)).digest('hex');
}

/** What a create call returns: the resource, and whether an earlier request already made it. */
export interface Accepted<T> {
  replayed: boolean;
  resource: T;
}

interface CreateReply {
  header(name: string, value: string): unknown;
  status(code: number): { send(body: unknown): unknown };
}

/** 202 for new work; 200 and `idempotent-replayed: true` for a replay of an Idempotency-Key. */
export function sendAccepted<T>(reply: CreateReply, result: Accepted<T>): void {
  if (result.replayed) reply.header('idempotent-replayed', 'true');
  reply.status(result.replayed ? 200 : 202).send(result.resource);
}
