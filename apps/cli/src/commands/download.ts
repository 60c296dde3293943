import { createHash } from 'node:crypto';
import { createReadStream, createWriteStream } from 'node:fs';
import { mkdir, rename, rm, stat } from 'node:fs/promises';
import { join, resolve } from 'node:path';
import { Readable, Transform } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import type { ReadableStream as WebReadableStream } from 'node:stream/web';
import { setTimeout as sleep } from 'node:timers/promises';
import cliProgress from 'cli-progress';
import type { Command } from 'commander';
import { z } from 'zod';
import { type ApiClient, ApiError } from '../api/client.js';
import { apiClient, type GlobalOptions, interruption } from '../context.js';
import { CliError, EXIT, note, printJson } from '../output.js';
import { positiveInt } from './shared.js';

const DEFAULT_CONCURRENCY = 4;
// Results are files of a few hundred KB; a minute covers a slow link, not a dead one.
const FILE_TIMEOUT_MS = 60_000;
// A file whose fetch broke off (a reset, an API restarting) is tried again, not reported.
const FILE_ATTEMPTS = 3;
const RETRYABLE_STATUS = new Set([0, 429, 502, 503, 504]);

export interface AudioFile {
  /** The line's place in the batch, from 1. */
  line: number;
  ref: string | null;
  cloneId: string;
  /**
   * The SHA-256 of voxline's stored copy, fetched with `GET /v1/clones/:id/audio`; null for
   * audio stored before voxline kept copies, fetched from `url` (upstream's link) instead.
   */
  sha256: string | null;
  bytes: number | null;
  url: string;
  /** `<ref or line number>.<format>` */
  name: string;
}

export interface DownloadSummary {
  batchId: string;
  dir: string;
  written: AudioFile[];
  /** Already in the folder with the same SHA-256: left as they are. */
  skipped: AudioFile[];
  /** Lines without audio: not succeeded (yet), failed or canceled. */
  withoutAudio: number;
  failed: Array<{ line: number; ref: string | null; reason: string }>;
}

// What `download` reads of a clone's `audio` beyond the contract's url and type: the stored
// file's digest, size and format (absent on audio from before voxline stored copies).
const storedAudio = z.object({
  sha256: z.string().regex(/^[0-9a-f]{64}$/),
  bytes: z.number().int().nonnegative().nullish(),
  format: z.string().nullish(),
});

// A ref is the caller's text: only what is safe in a file name on every system is kept.
function safeName(ref: string | null): string | null {
  const name = ref?.replace(/[^A-Za-z0-9._-]+/g, '_').replace(/^[._]+/, '');
  return name ? name.slice(0, 120) : null;
}

const EXTENSION = /^[a-z0-9]{1,5}$/i;

/** The stored file's format, else the type upstream named, else the link's own extension. */
function extension(audio: { url: string; type?: unknown; format?: unknown }): string {
  for (const candidate of [audio.format, audio.type]) {
    if (typeof candidate === 'string' && EXTENSION.test(candidate)) return candidate.toLowerCase();
  }
  return /\.([a-z0-9]{1,5})$/i.exec(new URL(audio.url).pathname)?.[1]?.toLowerCase() ?? 'bin';
}

/** Every succeeded line of the batch, in line order (GET /v1/batches/:id/clones, paged). */
export async function listAudio(
  client: ApiClient,
  batchId: string,
): Promise<{ files: AudioFile[]; withoutAudio: number }> {
  const files: AudioFile[] = [];
  const taken = new Set<string>();
  let withoutAudio = 0;
  let line = 0;
  let cursor: string | null = null;
  do {
    const page = await client.listBatchClones(batchId, cursor);
    for (const clone of page.data) {
      line++;
      // A running line may already show upstream's result while voxline is still storing it.
      if (!clone.audio || clone.status !== 'succeeded') {
        withoutAudio++;
        continue;
      }
      const stored = storedAudio.safeParse(clone.audio);
      const ext = extension(clone.audio as { url: string; type?: unknown; format?: unknown });
      const base = safeName(clone.ref) ?? String(line);
      // Two refs that clean up alike (or a ref that is another line's number) keep both files.
      let name = `${base}.${ext}`;
      if (taken.has(name)) name = `${base}-${line}.${ext}`;
      taken.add(name);
      files.push({
        line,
        ref: clone.ref,
        cloneId: clone.id,
        sha256: stored.success ? stored.data.sha256 : null,
        bytes: stored.success ? (stored.data.bytes ?? null) : null,
        url: clone.audio.url,
        name,
      });
    }
    cursor = page.next_cursor;
  } while (cursor);
  return { files, withoutAudio };
}

async function sha256Of(path: string): Promise<string> {
  const hash = createHash('sha256');
  await pipeline(createReadStream(path), hash);
  return hash.digest('hex');
}

/** True when `path` already holds the stored file (same size, then same SHA-256). */
async function alreadyThere(path: string, file: AudioFile): Promise<boolean> {
  if (!file.sha256) return false;
  const found = await stat(path).catch(() => null);
  if (!found?.isFile()) return false;
  if (file.bytes !== null && found.size !== file.bytes) return false;
  return (await sha256Of(path)) === file.sha256;
}

class FetchError extends Error {
  constructor(
    message: string,
    readonly retryable: boolean,
  ) {
    super(message);
  }
}

function reasonOf(error: ApiError): FetchError {
  if (error.status === 410) {
    return new FetchError(
      `HTTP 410: ${error.code === 'audio_purged' ? 'the audio was purged (AUDIO_RETENTION_DAYS)' : error.message}`,
      false,
    );
  }
  const status = error.status === 0 ? error.message : `HTTP ${error.status}: ${error.message}`;
  return new FetchError(status, RETRYABLE_STATUS.has(error.status));
}

/** The line's audio as a response: voxline's copy with the tenant key, else upstream's link. */
async function open(client: ApiClient, file: AudioFile, signal: AbortSignal): Promise<Response> {
  if (file.sha256) {
    try {
      return await client.openCloneAudio(file.cloneId, signal);
    } catch (error) {
      if (error instanceof ApiError) throw reasonOf(error);
      throw error;
    }
  }
  // Never with the tenant key: this link is upstream's, not voxline's.
  let res: Response;
  try {
    res = await fetch(file.url, { signal });
  } catch (error) {
    if (signal.aborted) throw error;
    throw new FetchError((error as Error).message, true);
  }
  if (!res.ok || !res.body) {
    await res.body?.cancel();
    throw new FetchError(
      res.status === 410 ? 'HTTP 410: the link expired' : `HTTP ${res.status}`,
      RETRYABLE_STATUS.has(res.status),
    );
  }
  return res;
}

/**
 * Streams one file to disk, hashing it on the way, and checks it against the stored SHA-256
 * (it appears whole and verified, or not at all); resolves with its size.
 */
async function fetchTo(
  client: ApiClient,
  file: AudioFile,
  path: string,
  signal: AbortSignal,
): Promise<number> {
  const res = await open(
    client,
    file,
    AbortSignal.any([signal, AbortSignal.timeout(FILE_TIMEOUT_MS)]),
  );
  const partial = `${path}.partial`;
  const hash = createHash('sha256');
  let size = 0;
  const digest = new Transform({
    transform(chunk: Buffer, _encoding, done) {
      hash.update(chunk);
      size += chunk.length;
      done(null, chunk);
    },
  });
  try {
    await pipeline(
      Readable.fromWeb(res.body as WebReadableStream<Uint8Array>),
      digest,
      createWriteStream(partial),
    );
    const got = hash.digest('hex');
    if (file.sha256 && got !== file.sha256) {
      throw new FetchError(
        `SHA-256 mismatch: got ${got}, the stored file has ${file.sha256}`,
        true,
      );
    }
    await rename(partial, path);
    return size;
  } catch (error) {
    await rm(partial, { force: true });
    if (error instanceof FetchError || signal.aborted) throw error;
    // The body broke off mid-way (a reset, a timeout): worth another attempt.
    throw new FetchError((error as Error).message, true);
  }
}

async function fetchWithRetries(
  client: ApiClient,
  file: AudioFile,
  path: string,
  signal: AbortSignal,
): Promise<number> {
  for (let attempt = 1; ; attempt++) {
    try {
      return await fetchTo(client, file, path, signal);
    } catch (error) {
      if (signal.aborted || !(error instanceof FetchError) || !error.retryable) throw error;
      if (attempt >= FILE_ATTEMPTS) throw error;
      await sleep(250 * 2 ** attempt, undefined, { signal });
    }
  }
}

export interface DownloadOptions {
  out: string;
  concurrency: number;
  signal: AbortSignal;
  progress: boolean;
}

function progressBar(): cliProgress.SingleBar {
  return new cliProgress.SingleBar(
    {
      stream: process.stderr,
      format: '{bar} {percentage}% {value}/{total} files | {mb} MB | {skipped} | {failures}',
      barCompleteChar: '\u2588',
      barIncompleteChar: '\u2591',
      barsize: 24,
      hideCursor: true,
      fps: 5,
    },
    cliProgress.Presets.shades_classic,
  );
}

/**
 * Writes a batch's audio files into `out`, `concurrency` at a time, with a progress bar; a file
 * already there with the stored file's SHA-256 is left alone.
 */
export async function downloadBatch(
  client: ApiClient,
  batchId: string,
  options: DownloadOptions,
): Promise<DownloadSummary> {
  const dir = resolve(options.out);
  await mkdir(dir, { recursive: true });
  const { files, withoutAudio } = await listAudio(client, batchId);
  const summary: DownloadSummary = {
    batchId,
    dir,
    written: [],
    skipped: [],
    withoutAudio,
    failed: [],
  };
  const bar = options.progress ? progressBar() : null;
  let bytes = 0;
  const counts = () => ({
    mb: (bytes / 1e6).toFixed(1),
    skipped: `${summary.skipped.length} already there`,
    failures: `${summary.failed.length} failed`,
  });
  bar?.start(files.length, 0, counts());
  let next = 0;
  const worker = async () => {
    for (let file = files[next++]; file; file = files[next++]) {
      if (options.signal.aborted) return;
      const path = join(dir, file.name);
      try {
        if (await alreadyThere(path, file)) {
          summary.skipped.push(file);
        } else {
          bytes += await fetchWithRetries(client, file, path, options.signal);
          summary.written.push(file);
        }
      } catch (error) {
        if (options.signal.aborted) return;
        summary.failed.push({ line: file.line, ref: file.ref, reason: (error as Error).message });
      }
      bar?.increment(1, counts());
    }
  };
  try {
    await Promise.all(Array.from({ length: options.concurrency }, worker));
  } finally {
    bar?.stop();
  }
  for (const list of [summary.written, summary.skipped, summary.failed]) {
    list.sort((a, b) => a.line - b.line);
  }
  return summary;
}

export function downloadCommand(program: Command): void {
  program
    .command('download')
    .description("write a batch's audio files into a folder, named <ref or line number>.<format>")
    .argument('<batch-id>', 'the batch')
    .requiredOption('--out <dir>', 'the folder to write into (created if missing)')
    .option('--concurrency <n>', 'files downloaded at a time', positiveInt, DEFAULT_CONCURRENCY)
    .addHelpText(
      'after',
      `
Files come from voxline's own copy (GET /v1/clones/:id/audio), checked against its SHA-256;
a file already in the folder with that SHA-256 is left alone, so a re-run fetches only what is
missing or different. Lines without audio (failed, canceled, not done yet) are skipped and
counted.
Examples:
  voxline download 0193c3d6-5c7e-7a51-9f0e-2b8f4c1d9e21 --out chapter1/`,
    )
    .action(
      async (batchId: string, flags: { out: string; concurrency: number }, command: Command) => {
        const globals = command.optsWithGlobals<GlobalOptions>();
        const json = globals.json ?? false;
        const client = apiClient(globals);
        const stop = interruption();
        let summary: DownloadSummary;
        try {
          summary = await downloadBatch(client, batchId, {
            out: flags.out,
            concurrency: flags.concurrency,
            signal: stop.signal,
            progress: process.stderr.isTTY === true,
          });
        } finally {
          stop.dispose();
        }
        if (stop.signal.aborted) {
          note(`interrupted: ${summary.written.length} files written to ${summary.dir}`);
          process.exitCode = EXIT.interrupted;
          return;
        }
        if (json) {
          const entry = (f: AudioFile) => ({ line: f.line, ref: f.ref, file: f.name });
          printJson({
            batch_id: summary.batchId,
            dir: summary.dir,
            files: summary.written.map(entry),
            skipped: summary.skipped.map(entry),
            without_audio: summary.withoutAudio,
            failed: summary.failed,
          });
        } else {
          console.log(`${summary.written.length} files written to ${summary.dir}`);
          if (summary.skipped.length > 0) {
            console.log(`${summary.skipped.length} files already there with the same SHA-256`);
          }
          if (summary.withoutAudio > 0) {
            console.log(
              `${summary.withoutAudio} lines have no audio (failed, canceled or not done)`,
            );
          }
        }
        const attempted = summary.failed.length + summary.written.length;
        if (summary.failed.length > 0) {
          throw new CliError(
            'download_failed',
            `${summary.failed.length} of ${attempted} files could not be downloaded`,
            summary.failed.slice(0, 20).map((f) => `line ${f.line}: ${f.reason}`),
          );
        }
      },
    );
}
