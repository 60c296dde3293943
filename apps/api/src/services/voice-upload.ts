import { createHash } from 'node:crypto';
import { VOICE_FILE_MAX_BYTES, VOICE_FORM_FIELD_TYPES } from '@voxline/contract';
import type { FastifyRequest } from 'fastify';
import { ApiError, type FieldProblem, validationError } from '../errors.js';

/** A reference file sent to `POST /v1/voices` as multipart/form-data. */
export interface VoiceUpload {
  bytes: Buffer;
  fileName: string;
  contentType: string;
  sha256: string;
}

const uploads = new WeakMap<FastifyRequest, VoiceUpload>();

/** The file a multipart request carried (read by `readVoiceForm`), or null for JSON. */
export function uploadOf(request: FastifyRequest): VoiceUpload | null {
  return uploads.get(request) ?? null;
}

/** What the file's first bytes say it is: RunningHub takes MP3 and WAV only. */
export function sniffAudio(bytes: Buffer): 'wav' | 'mp3' | null {
  if (bytes.length >= 12 && bytes.toString('ascii', 0, 4) === 'RIFF') {
    return bytes.toString('ascii', 8, 12) === 'WAVE' ? 'wav' : null;
  }
  if (bytes.length >= 3 && bytes.toString('ascii', 0, 3) === 'ID3') return 'mp3';
  // An MPEG audio frame header starts with 11 set bits.
  if (bytes.length >= 2 && bytes[0] === 0xff && ((bytes[1] ?? 0) & 0xe0) === 0xe0) return 'mp3';
  return null;
}

const CONTENT_TYPES = { wav: 'audio/wav', mp3: 'audio/mpeg' } as const;

/**
 * A form field as the JSON value the body schema expects: forms only carry strings, so
 * `true`, `0.8` and a metadata object arrive as text. A value that does not convert is left
 * as the string, and the schema then names the field.
 */
function formValue(field: string, value: string): unknown {
  const type = (VOICE_FORM_FIELD_TYPES as Record<string, string>)[field];
  if (type === 'boolean') return value === 'true' ? true : value === 'false' ? false : value;
  if (type === 'number') {
    const n = Number(value);
    return value.trim() !== '' && Number.isFinite(n) ? n : value;
  }
  if (type === 'json') {
    try {
      return JSON.parse(value) as unknown;
    } catch {
      return value;
    }
  }
  return value;
}

function isFileTooLarge(error: unknown): boolean {
  return (error as { code?: unknown } | null)?.code === 'FST_REQ_FILE_TOO_LARGE';
}

/**
 * A preValidation hook for `POST /v1/voices`: a multipart request becomes the same body as
 * the JSON one (its form fields, converted), validated by the same schema, and its `file` is
 * kept aside for the handler. JSON requests pass through untouched.
 */
export async function readVoiceForm(request: FastifyRequest): Promise<void> {
  if (!request.isMultipart()) return;
  const fields: Record<string, unknown> = {};
  const problems: FieldProblem[] = [];
  let file: { bytes: Buffer; fileName: string } | null = null;
  try {
    for await (const part of request.parts()) {
      if (part.type === 'file') {
        if (part.fieldname !== 'file' || file) {
          problems.push({
            path: part.fieldname,
            message: part.fieldname === 'file' ? 'send one file' : 'unknown field',
          });
          part.file.resume();
          continue;
        }
        file = { bytes: await part.toBuffer(), fileName: part.filename || 'reference' };
        continue;
      }
      if (part.fieldname in fields) {
        problems.push({ path: part.fieldname, message: 'is given more than once' });
        continue;
      }
      fields[part.fieldname] = formValue(part.fieldname, String(part.value));
    }
  } catch (error) {
    if (!isFileTooLarge(error)) throw error;
    throw new ApiError(
      413,
      'payload_too_large',
      `file must be at most ${VOICE_FILE_MAX_BYTES / 1024 / 1024} MB`,
      [{ path: 'file', message: `must be at most ${VOICE_FILE_MAX_BYTES} bytes` }],
    );
  }
  if (!file) problems.push({ path: 'file', message: 'is required in a multipart request' });
  const kind = file ? sniffAudio(file.bytes) : null;
  if (file && !kind) problems.push({ path: 'file', message: 'must be an MP3 or WAV file' });
  if ('audio' in fields) {
    problems.push({ path: 'audio', message: 'give an audio URL or a file, not both' });
  }
  if (problems.length > 0 || !file || !kind) throw validationError(problems);
  uploads.set(request, {
    bytes: file.bytes,
    fileName: file.fileName,
    contentType: CONTENT_TYPES[kind],
    sha256: createHash('sha256').update(file.bytes).digest('hex'),
  });
  request.body = fields;
}
