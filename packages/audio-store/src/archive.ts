import { pipeline } from 'node:stream';
import type { Dispatcher } from 'undici';
import { ArchiveError, urlForLog } from './archive-error.js';
import { type Download, type DownloadOptions, downloadError, openDownload } from './download.js';
import { createArchiveDispatcher, type TargetGuard } from './guard.js';
import { assertValidKey } from './keys.js';
import { type AudioFormat, MetadataTap } from './metadata.js';
import type { AudioStore } from './store.js';

export interface ArchiveOptions {
  guard: TargetGuard;
  /** AUDIO_MAX_BYTES: a longer body is refused (TOO_LARGE) and nothing is kept. */
  maxBytes: number;
  /** AUDIO_DOWNLOAD_TIMEOUT_MS: the whole download, redirects and storing included. */
  timeoutMs: number;
  /** AUDIO_CONNECT_TIMEOUT_MS; used only when no dispatcher is given (it carries its own). */
  connectTimeoutMs: number;
  /** From createArchiveDispatcher, shared across calls; one per call otherwise. */
  dispatcher?: Dispatcher;
  /** The caller's own abort (shutdown): rethrown as is, not as an ArchiveError. */
  signal?: AbortSignal;
  maxRedirects?: number;
}

export interface ArchivedAudio {
  key: string;
  sha256: string;
  bytes: number;
  format: AudioFormat;
  contentType: string;
  durationMs: number;
  sampleRate: number;
  channels: number;
}

const DEFAULT_MAX_REDIRECTS = 5;

/**
 * Errors of the source (cap, network, timeout) come out of the put as they went in; anything
 * else that stopped a put whose body was flowing is the store's.
 */
function putFailure(error: unknown, store: AudioStore, url: string, download: DownloadOptions) {
  if (error instanceof ArchiveError) return error;
  if (download.timedOut() || download.signal.aborted) return downloadError(error, url, download);
  return new ArchiveError(
    'STORE_FAILED',
    `could not store the audio in ${store.location}: ${String((error as Error).message)}`,
    true,
    urlForLog(url),
    { cause: error },
  );
}

/**
 * Copies the audio at `url` into `store` under `key`: streamed (never whole in memory), capped,
 * timed, through the SSRF guard, hashed and described (music-metadata: format, duration, rate,
 * channels) on the way, in one pass over the bytes that are stored. Every failure is an
 * ArchiveError saying whether a retry can help (or the caller's own abort). A failed download
 * leaves `key` as it was (a put is atomic); a stored file that proves not to be audio is
 * deleted.
 */
export async function archiveFromUrl(
  store: AudioStore,
  key: string,
  url: string,
  options: ArchiveOptions,
): Promise<ArchivedAudio> {
  // A bad key is the caller's bug, not a failed download: thrown as is, before any request.
  assertValidKey(key);
  const timeout = AbortSignal.timeout(options.timeoutMs);
  const signal = options.signal ? AbortSignal.any([options.signal, timeout]) : timeout;
  const ownDispatcher = options.dispatcher ? null : createArchiveDispatcher(options);
  const download: DownloadOptions = {
    guard: options.guard,
    dispatcher: options.dispatcher ?? (ownDispatcher as Dispatcher),
    signal,
    timedOut: () => timeout.aborted,
    maxBytes: options.maxBytes,
    maxRedirects: options.maxRedirects ?? DEFAULT_MAX_REDIRECTS,
  };
  let source: Download;
  try {
    source = await openDownload(url, download);
  } catch (error) {
    await ownDispatcher?.close();
    throw error;
  }
  const audioType = source.contentType?.startsWith('audio/') ? source.contentType : undefined;
  const tap = new MetadataTap({ bytes: source.bytes, contentType: audioType ?? null });
  let stored: { bytes: number; sha256: string };
  try {
    stored = await store.put(
      key,
      pipeline(source.body, tap, () => {}),
      {
        signal,
        ...(audioType ? { contentType: audioType } : {}),
      },
    );
  } catch (error) {
    source.body.destroy();
    throw putFailure(error, store, source.url, download);
  } finally {
    await ownDispatcher?.close();
  }
  try {
    return { key, sha256: stored.sha256, bytes: stored.bytes, ...(await tap.metadata) };
  } catch (error) {
    await store.delete(key).catch(() => {});
    throw new ArchiveError(
      'UNREADABLE_AUDIO',
      (error as Error).message,
      false,
      urlForLog(source.url),
      { cause: error },
    );
  }
}
