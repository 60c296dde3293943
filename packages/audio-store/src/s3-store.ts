import { pipeline, type Readable } from 'node:stream';
import {
  CopyObjectCommand,
  DeleteObjectCommand,
  DeleteObjectsCommand,
  GetObjectCommand,
  type GetObjectCommandOutput,
  HeadObjectCommand,
  paginateListObjectsV2,
  S3Client,
  S3ServiceException,
} from '@aws-sdk/client-s3';
import { Upload } from '@aws-sdk/lib-storage';
import { getSignedUrl } from '@aws-sdk/s3-request-presigner';
import { DigestStream } from './digest.js';
import { RangeNotSatisfiableError } from './errors.js';
import { assertValidKey } from './keys.js';
import type {
  AudioStore,
  ByteRange,
  ObjectStream,
  PresignOptions,
  PutOptions,
  PutResult,
  StoredEntry,
  StoredObject,
} from './store.js';

export interface S3StoreOptions {
  bucket: string;
  /** Prepended to every key with a slash; empty for the bucket's root. */
  prefix: string;
  region: string;
  /** An S3-compatible server (MinIO, R2, Ceph...); unset, AWS itself. */
  endpoint?: string;
  /** Unset, the SDK's default chain (environment, instance role...). */
  credentials?: { accessKeyId: string; secretAccessKey: string };
  /** `endpoint/bucket/key` instead of `bucket.endpoint/key`: most self-hosted servers need it. */
  forcePathStyle: boolean;
  /** Bodies larger than this go up in parts of this size; S3's minimum is 5 MiB. */
  partSizeBytes?: number;
  /** Parts in flight at once for one upload: memory use is about partSizeBytes times this. */
  partsInFlight?: number;
}

const MIB = 1024 * 1024;
const DEFAULT_PART_SIZE = 8 * MIB;
// S3's limit for one DeleteObjects request.
const DELETE_BATCH = 1_000;

function statusOf(error: unknown): number | undefined {
  return error instanceof S3ServiceException ? error.$metadata.httpStatusCode : undefined;
}

function unquote(etag: string | undefined): string {
  return (etag ?? '').replace(/^"|"$/g, '');
}

/** An AudioStore in an S3 bucket, through the AWS SDK. */
export function createS3Store(options: S3StoreOptions): AudioStore {
  const { bucket } = options;
  const prefix = options.prefix.replace(/^\/+|\/+$/g, '');
  const client = new S3Client({
    region: options.region,
    forcePathStyle: options.forcePathStyle,
    ...(options.endpoint ? { endpoint: options.endpoint } : {}),
    ...(options.credentials ? { credentials: options.credentials } : {}),
    // Unbounded by default: a silent S3 would hold a worker's job forever. The second is the
    // idle time of a socket, so a long upload that keeps moving is never cut.
    requestHandler: { connectionTimeout: 10_000, requestTimeout: 60_000 },
    // The SDK's default since 3.729 adds CRC32 trailers in aws-chunked bodies, which many
    // S3-compatible servers store verbatim or refuse; the SHA-256 is checked here instead.
    requestChecksumCalculation: 'WHEN_REQUIRED',
    responseChecksumValidation: 'WHEN_REQUIRED',
  });
  const fullKey = (key: string) => {
    assertValidKey(key);
    return prefix ? `${prefix}/${key}` : key;
  };
  const listPrefix = prefix ? `${prefix}/` : '';

  async function headFull(key: string): Promise<StoredObject | null> {
    try {
      const head = await client.send(new HeadObjectCommand({ Bucket: bucket, Key: fullKey(key) }));
      return {
        key,
        bytes: head.ContentLength ?? 0,
        lastModified: head.LastModified ?? new Date(0),
        etag: unquote(head.ETag),
        sha256: head.Metadata?.sha256 ?? null,
        contentType: head.ContentType ?? null,
      };
    } catch (error) {
      if (statusOf(error) === 404) return null;
      throw error;
    }
  }

  async function* listOlderThan(cutoff: Date): AsyncGenerator<StoredEntry> {
    const pages = paginateListObjectsV2({ client }, { Bucket: bucket, Prefix: listPrefix });
    for await (const page of pages) {
      for (const object of page.Contents ?? []) {
        if (!object.Key || !object.LastModified) continue;
        if (object.LastModified.getTime() >= cutoff.getTime()) continue;
        yield {
          key: object.Key.slice(listPrefix.length),
          bytes: object.Size ?? 0,
          lastModified: object.LastModified,
        };
      }
    }
  }

  // Full keys as listed: an object some other tool put under the prefix is removed too,
  // whether or not its name would pass as a key here.
  async function deleteBatch(keys: string[]): Promise<void> {
    const answer = await client.send(
      new DeleteObjectsCommand({
        Bucket: bucket,
        Delete: { Objects: keys.map((key) => ({ Key: listPrefix + key })), Quiet: true },
      }),
    );
    const [first] = answer.Errors ?? [];
    if (first) {
      throw new Error(
        `S3 refused to delete ${answer.Errors?.length} objects, first ${first.Key}: ${first.Code} ${first.Message}`,
      );
    }
  }

  return {
    kind: 's3',
    location: `s3://${bucket}${prefix ? `/${prefix}` : ''}`,

    async put(key: string, body: Readable, putOptions: PutOptions = {}): Promise<PutResult> {
      const Key = fullKey(key);
      const digest = new DigestStream();
      // A failing source (size cap, timeout) fails the digest, which fails the upload; the
      // callback only keeps the error from going unhandled, the upload reports it.
      pipeline(body, digest, () => {});
      const upload = new Upload({
        client,
        params: {
          Bucket: bucket,
          Key,
          Body: digest,
          ...(putOptions.contentType ? { ContentType: putOptions.contentType } : {}),
        },
        partSize: options.partSizeBytes ?? DEFAULT_PART_SIZE,
        queueSize: options.partsInFlight ?? 2,
        // A failed multipart upload is aborted, so no invisible parts are left to pay for.
        leavePartsOnError: false,
      });
      const abort = () => void upload.abort();
      putOptions.signal?.addEventListener('abort', abort, { once: true });
      try {
        await upload.done();
      } finally {
        putOptions.signal?.removeEventListener('abort', abort);
      }
      const sha256 = digest.sha256();
      // The hash is known only once the body has gone up, and S3 metadata cannot be added to
      // an object in place: a server-side copy onto itself records it (no bytes pass here).
      await client.send(
        new CopyObjectCommand({
          Bucket: bucket,
          Key,
          CopySource: `${bucket}/${Key.split('/').map(encodeURIComponent).join('/')}`,
          MetadataDirective: 'REPLACE',
          Metadata: { sha256 },
          ...(putOptions.contentType ? { ContentType: putOptions.contentType } : {}),
        }),
      );
      return { key, bytes: digest.bytes, sha256 };
    },

    head: headFull,

    async get(key: string, range?: ByteRange): Promise<ObjectStream | null> {
      const Key = fullKey(key);
      let answer: GetObjectCommandOutput;
      try {
        answer = await client.send(
          new GetObjectCommand({
            Bucket: bucket,
            Key,
            ...(range ? { Range: `bytes=${range.start}-${range.end ?? ''}` } : {}),
          }),
        );
      } catch (error) {
        const status = statusOf(error);
        if (status === 404) return null;
        if (status === 416) {
          const head = await headFull(key);
          if (!head) return null;
          throw new RangeNotSatisfiableError(key, head.bytes);
        }
        throw error;
      }
      const bytes = answer.ContentLength ?? 0;
      const served = /^bytes (\d+)-(\d+)\/(\d+)$/.exec(answer.ContentRange ?? '');
      return {
        body: answer.Body as Readable,
        bytes,
        totalBytes: served ? Number(served[3]) : bytes,
        range: served ? { start: Number(served[1]), end: Number(served[2]) } : null,
        contentType: answer.ContentType ?? null,
        etag: unquote(answer.ETag),
      };
    },

    async delete(key: string): Promise<void> {
      await client.send(new DeleteObjectCommand({ Bucket: bucket, Key: fullKey(key) }));
    },

    listOlderThan,

    async deleteOlderThan(cutoff: Date): Promise<string[]> {
      const deleted: string[] = [];
      let batch: string[] = [];
      for await (const entry of listOlderThan(cutoff)) {
        batch.push(entry.key);
        if (batch.length === DELETE_BATCH) {
          await deleteBatch(batch);
          deleted.push(...batch);
          batch = [];
        }
      }
      if (batch.length > 0) {
        await deleteBatch(batch);
        deleted.push(...batch);
      }
      return deleted;
    },

    async presign(key: string, presignOptions: PresignOptions): Promise<string> {
      const command = new GetObjectCommand({
        Bucket: bucket,
        Key: fullKey(key),
        ...(presignOptions.contentType ? { ResponseContentType: presignOptions.contentType } : {}),
        ...(presignOptions.fileName
          ? {
              ResponseContentDisposition: `attachment; filename="${presignOptions.fileName.replace(/["\\\r\n]/g, '_')}"`,
            }
          : {}),
      });
      return getSignedUrl(client, command, { expiresIn: presignOptions.expiresInSeconds });
    },

    async close(): Promise<void> {
      client.destroy();
    },
  };
}
