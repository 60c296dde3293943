import { type SpeechModel, speechParamsSchema } from '@voxline/runninghub';
import { z } from 'zod';

/**
 * A speech endpoint's body by the contract: the speech fields, plus two flags it requires,
 * `enable_base64_output` (false: results as URLs, the only form the simulator hands out) and
 * `english_normalization` (a JSON boolean). The model is the endpoint's, not a field.
 */
export function speechBodySchema() {
  return speechParamsSchema().extend({
    enable_base64_output: z.literal(false, {
      error: (issue) =>
        issue.input === undefined
          ? 'enable_base64_output is required (false)'
          : 'enable_base64_output must be false',
    }),
    english_normalization: z.boolean({
      error: (issue) =>
        issue.input === undefined
          ? 'english_normalization is required'
          : 'english_normalization must be a JSON boolean',
    }),
  });
}

export type SpeechBody = z.output<ReturnType<typeof speechBodySchema>>;

/** The body as the schema reads it, with the model its path names. */
export function withModel(body: unknown, model: SpeechModel): unknown {
  if (!body || typeof body !== 'object' || Array.isArray(body)) return body;
  return { ...body, model };
}
