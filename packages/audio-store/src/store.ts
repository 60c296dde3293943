import type { Readable } from 'node:stream';

/** What a store holds under one key. */
export interface StoredObject {
  key: string;
  bytes: number;
  lastModified: Date;
  /** Changes whenever the content does (the S3 ETag; the SHA-256 in the folder store). */
  etag: string;
  /** Recorded by `put`; null for an object some other writer put there. */
  sha256: string | null;
  contentType: string | null;
}

/** One object as a listing shows it. */
export interface StoredEntry {
  key: string;
  bytes: number;
  lastModified: Date;
}

export interface PutOptions {
  contentType?: string;
  signal?: AbortSignal;
}

export interface PutResult {
  key: string;
  bytes: number;
  /** Of the bytes as they were stored, computed on the way in. */
  sha256: string;
}

/** Inclusive byte offsets, as in HTTP's `Range: bytes=start-end`; no end reads to the last byte. */
export interface ByteRange {
  start: number;
  end?: number;
}

export interface ObjectStream {
  body: Readable;
  /** Bytes in `body`: the whole object or the range. */
  bytes: number;
  totalBytes: number;
  /** The range served, end clamped to the last byte; null for the whole object. */
  range: { start: number; end: number } | null;
  contentType: string | null;
  etag: string;
}

export interface PresignOptions {
  expiresInSeconds: number;
  /** Answered as the response's Content-Type (the format read from the file). */
  contentType?: string;
  /** Offered to the browser as the saved file's name. */
  fileName?: string;
}

/**
 * Where voxline keeps the audio it has archived: a folder (`file://`) or an S3 bucket (`s3://`).
 * Keys are relative paths (`tenant/clone.wav`), checked by `assertValidKey`.
 */
export interface AudioStore {
  readonly kind: 'file' | 's3';
  /** The store's address without credentials, safe to log. */
  readonly location: string;
  /** Streams `body` under `key`; a reader never sees a partly written object. */
  put(key: string, body: Readable, options?: PutOptions): Promise<PutResult>;
  head(key: string): Promise<StoredObject | null>;
  /** Null when the key holds nothing; throws RangeNotSatisfiableError past the last byte. */
  get(key: string, range?: ByteRange): Promise<ObjectStream | null>;
  /** Removing what is not there is no error. */
  delete(key: string): Promise<void>;
  /** Every object last written before `cutoff`, in no particular order. */
  listOlderThan(cutoff: Date): AsyncIterable<StoredEntry>;
  /** Deletes every object last written before `cutoff`; returns their keys. */
  deleteOlderThan(cutoff: Date): Promise<string[]>;
  /** A URL anyone can GET for a while; null where the store has no such thing (a folder). */
  presign(key: string, options: PresignOptions): Promise<string | null>;
  close(): Promise<void>;
}
