import { priceOverridesSchema } from '@voxline/runninghub';
import { z } from 'zod';
import { parseList } from '../list.js';

const DAY_MS = 24 * 3_600_000;

/** Voices (clone once, speak many), their upstream lifetime, and what tasks cost. */
export const voicesEnv = z.object({
  // Overrides of RunningHub's public price list (CNY), as JSON: {"voice-clone": 3.12,
  // "speech-02-hd": 0.31, ...} (speech per 1,000 characters). Unset: the public list.
  RUNNINGHUB_PRICES: z
    .string()
    .transform((value, ctx) => {
      try {
        return JSON.parse(value) as unknown;
      } catch {
        ctx.addIssue({ code: 'custom', message: 'must be a JSON object' });
        return z.NEVER;
      }
    })
    .pipe(priceOverridesSchema)
    .optional(),
  // The speech failure of a voice upstream no longer has. Its code is not documented (MiniMax
  // says "voice id not exist"); these codes and that message both mean it.
  RUNNINGHUB_VOICE_MISSING_CODES: z
    .string()
    .default('2054')
    .transform((value) => parseList(value)),
  // MiniMax deletes a cloned voice unused for 7 days.
  VOICE_UPSTREAM_TTL_MS: z.coerce
    .number()
    .int()
    .min(1_000)
    .default(7 * DAY_MS),
  // A kept voice gets its keep-alive speech call this long before upstream would forget it.
  VOICE_KEEP_ALIVE_MARGIN_MS: z.coerce.number().int().min(1_000).default(DAY_MS),
  // A line waiting for its voice's clone is woken when the clone ends; this is only the
  // safety net for a lost wake-up.
  VOICE_WAIT_PARK_MS: z.coerce.number().int().min(100).default(60_000),
  // What a voice says in its preview (the voice-clone call's text) when none is given.
  VOICE_PREVIEW_TEXT: z
    .string()
    .min(1)
    .default('Hello! This is a preview of my cloned voice, ready to narrate every line.'),
});
