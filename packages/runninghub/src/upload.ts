import { z } from 'zod';

export interface UploadResult {
  /** Goes into VoiceCloneParams.audio. */
  downloadUrl: string;
  type: string | null;
  size: number | null;
  fileName: string | null;
  raw: unknown;
}

const scalar = z.union([z.string(), z.number()]);

// Same envelope as the rest of RunningHub's non-task endpoints: code 0 is success.
export const uploadResponseBodySchema = z
  .object({
    code: scalar,
    message: scalar.nullish(),
    msg: scalar.nullish(),
    data: z
      .object({
        download_url: z.string().nullish(),
        type: scalar.nullish(),
        size: scalar.nullish(),
        fileName: z.string().nullish(),
      })
      .loose()
      .nullish(),
  })
  .loose();

export const cancelResponseBodySchema = z
  .object({ code: scalar, msg: scalar.nullish(), message: scalar.nullish() })
  .loose();

export function sizeOf(value: string | number | null | undefined): number | null {
  if (value === null || value === undefined || value === '') return null;
  const n = Number(value);
  return Number.isFinite(n) ? n : null;
}
