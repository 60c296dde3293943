import { speechModelSchema, voiceCloneParamsSchema, voiceOverrideShape } from '@voxline/runninghub';
import { z } from 'zod';
import {
  CLONE_ONLY_FIELDS,
  isSpeechModel,
  lineModelField,
  SPEAKER_FIELDS,
  SPEECH_MODEL_MESSAGE,
} from './clone-request.js';
import {
  ALWAYS,
  asRecord,
  given,
  lineFields,
  metadataSchema,
  type RequestLimits,
  refuseUnstorableStrings,
  reuseAudioField,
  speechObject,
  systemVoiceField,
  voiceIdField,
  webhookUrlField,
} from './fields.js';

// numeric(14, 6) holds less than 10^8: a larger budget is no budget at all, and would fail
// the insert with a 500.
const MAX_COST_LIMIT = 99_999_999;

/** Who speaks a batch's lines unless a line says otherwise: one of these at most. */
const BATCH_SPEAKERS = ['voice', 'voice_id', 'system_voice'] as const;

type Issue = { path: PropertyKey[]; message: string };

function perLineCloneIssues(body: Record<string, unknown>, lines: unknown[]): Issue[] {
  const issues: Issue[] = [];
  const voice = asRecord(body.voice);
  if (!given(body, 'voice')) {
    issues.push({ path: ['voice'], message: 'is required with per_line_clone: true' });
  } else if (voice && !given(voice, 'custom_voice_id')) {
    issues.push({
      path: ['voice', 'custom_voice_id'],
      message: 'is required with per_line_clone: true',
    });
  }
  for (const field of ['voice_id', 'system_voice', 'model', 'speech'] as const) {
    if (given(body, field)) {
      issues.push({
        path: [field],
        message: 'cannot be combined with per_line_clone: true (every line is a voice clone)',
      });
    }
  }
  lines.forEach((raw, index) => {
    const line = asRecord(raw);
    if (!line) return;
    for (const field of [...SPEAKER_FIELDS, 'speech'] as const) {
      if (given(line, field)) {
        issues.push({
          path: ['lines', index, field],
          message: 'cannot be combined with per_line_clone: true (every line is a voice clone)',
        });
      }
    }
  });
  return issues;
}

function speechIssues(body: Record<string, unknown>, lines: unknown[]): Issue[] {
  const issues: Issue[] = [];
  const speakers = BATCH_SPEAKERS.filter((k) => given(body, k));
  for (const extra of speakers.slice(1)) {
    issues.push({
      path: [extra],
      message: `give one of voice, voice_id or system_voice, not ${speakers[0]} and ${extra}`,
    });
  }
  lines.forEach((raw, index) => {
    const line = asRecord(raw);
    if (!line) return;
    for (const field of CLONE_ONLY_FIELDS) {
      if (given(line, field)) {
        issues.push({
          path: ['lines', index, field],
          message: 'overrides a clone field: only with per_line_clone: true',
        });
      }
    }
    if (given(line, 'voice_id') && given(line, 'system_voice')) {
      issues.push({
        path: ['lines', index, 'system_voice'],
        message: 'give voice_id or system_voice, not both',
      });
    }
    if (given(line, 'model') && !isSpeechModel(line.model)) {
      issues.push({ path: ['lines', index, 'model'], message: SPEECH_MODEL_MESSAGE });
    }
    if (speakers.length === 0 && !SPEAKER_FIELDS.some((k) => given(line, k))) {
      issues.push({
        path: ['lines', index],
        message:
          'has no voice: give voice, voice_id or system_voice on the batch, or voice_id or system_voice on the line',
      });
    }
  });
  return issues;
}

/**
 * `POST /v1/batches`. Lines are spoken with one voice, cloned once: `voice` (clone fields:
 * made into a voice, or an identical voice of the tenant reused), `voice_id` or
 * `system_voice`, with `model` and `speech` settings, each overridable per line. With
 * `per_line_clone: true` every line is its own voice clone, as before voices, and lines may
 * override the clone fields instead.
 */
export function createBatchSchema(limits: RequestLimits) {
  const voice = voiceCloneParamsSchema({ voiceIdMinLength: limits.voiceIdMinLength });
  const overrides = voiceOverrideShape({ voiceIdMinLength: limits.voiceIdMinLength });
  const line = z.strictObject(
    {
      ...lineFields(limits),
      ...overrides,
      model: lineModelField().optional(),
      voice_id: voiceIdField.optional(),
      system_voice: systemVoiceField.optional(),
      speech: speechObject('speech').optional(),
      // Over the batch's own reuse_audio for this line.
      reuse_audio: reuseAudioField,
    },
    { error: 'a line must be a JSON object' },
  );
  // Every clone field but the text, defaults applied; the voxline voice it becomes has an id
  // of its own, so custom_voice_id is only needed when every line is cloned with it.
  const inlineVoice = z.strictObject(
    { ...voice.omit({ text: true }).shape, custom_voice_id: overrides.custom_voice_id },
    { error: 'voice must be a JSON object' },
  );
  return z
    .strictObject(
      {
        voice: inlineVoice.optional(),
        per_line_clone: z
          .boolean({ error: 'per_line_clone must be a JSON boolean' })
          .default(false),
        voice_id: voiceIdField.optional(),
        system_voice: systemVoiceField.optional(),
        model: speechModelSchema().optional(),
        speech: speechObject('speech').optional(),
        lines: z
          .array(line, { error: 'lines must be an array' })
          .min(1, 'lines must hold at least one line')
          .max(limits.batchMaxLines, `a batch holds at most ${limits.batchMaxLines} lines`),
        max_cost: z
          .number({ error: 'max_cost must be a number (CNY)' })
          .min(0, 'max_cost must be at least 0')
          .max(MAX_COST_LIMIT, `max_cost must be at most ${MAX_COST_LIMIT}`)
          .optional(),
        webhook_url: webhookUrlField(),
        metadata: metadataSchema(limits.metadataMaxBytes).optional(),
        reuse_audio: reuseAudioField,
      },
      { error: 'body must be a JSON object' },
    )
    .superRefine(refuseUnstorableStrings)
    .superRefine((value, ctx) => {
      const body = asRecord(value);
      if (!body) return;
      const lines = Array.isArray(body.lines) ? body.lines : [];
      const issues =
        body.per_line_clone === true ? perLineCloneIssues(body, lines) : speechIssues(body, lines);
      for (const issue of issues) ctx.addIssue({ code: 'custom', ...issue });
    }, ALWAYS);
}

export type CreateBatchBody = z.output<ReturnType<typeof createBatchSchema>>;
export type BatchLineBody = CreateBatchBody['lines'][number];
export type InlineVoiceBody = NonNullable<CreateBatchBody['voice']>;
