import { createHash } from 'node:crypto';
import {
  type SpeechRequest,
  toSpeechBody,
  toSubmitBody,
  type VoiceCloneParams,
} from '@voxline/runninghub';
import type { TaskKind } from './statuses.js';

/**
 * JSON with object keys sorted at every level and undefined members left out, so two values
 * that mean the same thing serialise the same whatever order they were built in.
 */
export function canonicalJson(value: unknown): string {
  if (value === null || typeof value !== 'object') return JSON.stringify(value) ?? 'null';
  if (Array.isArray(value)) return `[${value.map(canonicalJson).join(',')}]`;
  const entries = Object.entries(value as Record<string, unknown>)
    .filter(([, v]) => v !== undefined)
    .sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0));
  return `{${entries.map(([k, v]) => `${JSON.stringify(k)}:${canonicalJson(v)}`).join(',')}}`;
}

/** What a line asks upstream for, as stored: its kind, its voxline voice and its request. */
export interface CanonicalLine {
  kind: TaskKind;
  /** The voxline voice a speech line is spoken with (null for a system voice). */
  voiceId: string | null;
  request: VoiceCloneParams | SpeechRequest;
}

/**
 * The request a line makes upstream, in the form the upstream body takes (defaults the client
 * fills in are filled in here too, so leaving `english_normalization` out and sending its
 * default are one request). Who speaks: a voxline voice by its id (its upstream id changes
 * when upstream forgets it and it is cloned again, but it is the same voice), a system voice
 * by name, or for a one-off clone its reference URL and clone settings; never the caller's
 * `custom_voice_id`, which names the upstream voice without changing the audio.
 */
function canonicalRequest(line: CanonicalLine): Record<string, unknown> {
  if (line.kind === 'voice_clone') {
    const { custom_voice_id: _name, ...body } = toSubmitBody(line.request as VoiceCloneParams);
    return { kind: line.kind, request: body };
  }
  const { system_voice, model, ...speech } = line.request as SpeechRequest;
  // The upstream voice id is filled in at submit time; it is not part of what is asked.
  const { voice_id: _upstream, ...body } = toSpeechBody({ ...speech, model, voice_id: '' });
  return {
    kind: line.kind,
    model,
    voice: line.voiceId !== null ? { voice_id: line.voiceId } : { system_voice },
    request: body,
  };
}

/**
 * `clone_jobs.canonical_hash`: SHA-256 (hex) of the canonical upstream request. Two lines of a
 * tenant with the same hash would get the same audio, so the second reuses the first's.
 */
export function canonicalRequestHash(line: CanonicalLine): string {
  return createHash('sha256')
    .update(canonicalJson(canonicalRequest(line)))
    .digest('hex');
}
