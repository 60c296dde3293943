import { z } from 'zod';

const MIB = 1024 * 1024;

/** Where archived audio is kept, how it is fetched from upstream, and how long it stays. */
export const audioStoreEnv = z.object({
  // file:///absolute/path, file://./relative (to the working directory) or s3://bucket/prefix.
  AUDIO_STORE: z
    .string()
    .refine(
      (value) =>
        value.startsWith('file://') || /^s3:\/\/[a-z0-9][a-z0-9.-]{1,61}[a-z0-9](\/|$)/.test(value),
      'must be file:///path, file://./relative/path or s3://bucket[/prefix]',
    )
    .default('file://./data/audio'),
  // An S3-compatible server (MinIO, R2, Ceph...); unset with s3://, AWS itself.
  S3_ENDPOINT: z.url({ protocol: /^https?$/ }).optional(),
  S3_REGION: z.string().min(1).default('us-east-1'),
  // Unset, the AWS SDK's default chain (environment, instance or task role).
  S3_ACCESS_KEY_ID: z.string().min(1).optional(),
  S3_SECRET_ACCESS_KEY: z.string().min(1).optional(),
  // Most self-hosted S3 servers address buckets by path, not by host name.
  S3_FORCE_PATH_STYLE: z.stringbool().default(false),
  // A result larger than this is refused (RunningHub's longest speech is a few MB). At most
  // 5 GiB: S3 records an object's hash by copying it onto itself, which it allows up to that.
  AUDIO_MAX_BYTES: z.coerce
    .number()
    .int()
    .min(1024)
    .max(5 * 1024 * MIB)
    .default(50 * MIB),
  // The whole download, from the first DNS lookup to the last byte stored.
  AUDIO_DOWNLOAD_TIMEOUT_MS: z.coerce.number().int().min(100).default(120_000),
  AUDIO_CONNECT_TIMEOUT_MS: z.coerce.number().int().min(100).default(10_000),
  // Stored audio older than this is deleted by a scheduled job; unset, it is kept.
  AUDIO_RETENTION_DAYS: z.coerce.number().int().min(1).optional(),
  // How long a presigned S3 link (`?redirect=true`) works; S3 caps it at 7 days.
  AUDIO_PRESIGN_TTL_S: z.coerce.number().int().min(1).max(604_800).default(900),
});
