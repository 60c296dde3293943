import { createWriteStream } from 'node:fs';
import { mkdir, rename, rm, stat } from 'node:fs/promises';
import { join, resolve } from 'node:path';
import { Readable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import type { ReadableStream as WebReadableStream } from 'node:stream/web';
import cliProgress from 'cli-progress';
import type { Command } from 'commander';
import type { ApiClient } from '../api/client.js';
import { apiClient, type GlobalOptions, interruption } from '../context.js';
import { CliError, EXIT, note, printJson } from '../output.js';
import { positiveInt } from './shared.js';

const DEFAULT_CONCURRENCY = 4;
// Result links are files of a few hundred KB; a minute covers a slow link, not a dead one.
const FILE_TIMEOUT_MS = 60_000;

export interface AudioFile {
  /** The line's place in the batch, from 1. */
  line: number;
  ref: string | null;
  url: string;
  /** `<ref or line number>.<type>` */
  name: string;
}

export interface DownloadSummary {
  batchId: string;
  dir: string;
  written: AudioFile[];
  /** Lines without audio: not succeeded (yet), failed or canceled. */
  withoutAudio: number;
  failed: Array<{ line: number; ref: string | null; reason: string }>;
}

// A ref is the caller's text: only what is safe in a file name on every system is kept.
function safeName(ref: string | null): string | null {
  const name = ref?.replace(/[^A-Za-z0-9._-]+/g, '_').replace(/^[._]+/, '');
  return name ? name.slice(0, 120) : null;
}

function fileType(audio: { url: string; type?: unknown }): string {
  if (typeof audio.type === 'string' && /^[a-z0-9]{1,5}$/i.test(audio.type)) {
    return audio.type.toLowerCase();
  }
  return /\.([a-z0-9]{1,5})$/i.exec(new URL(audio.url).pathname)?.[1]?.toLowerCase() ?? 'bin';
}

/** Every line of the batch with audio, in line order (GET /v1/batches/:id/clones, paged). */
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
      if (!clone.audio) {
        withoutAudio++;
        continue;
      }
      const type = fileType(clone.audio);
      const base = safeName(clone.ref) ?? String(line);
      // Two refs that clean up alike (or a ref that is another line's number) keep both files.
      let name = `${base}.${type}`;
      if (taken.has(name)) name = `${base}-${line}.${type}`;
      taken.add(name);
      files.push({ line, ref: clone.ref, url: clone.audio.url, name });
    }
    cursor = page.next_cursor;
  } while (cursor);
  return { files, withoutAudio };
}

/** Streams one file to disk (it appears whole or not at all); resolves with its size. */
async function fetchTo(url: string, path: string, signal: AbortSignal): Promise<number> {
  const res = await fetch(url, {
    signal: AbortSignal.any([signal, AbortSignal.timeout(FILE_TIMEOUT_MS)]),
  });
  if (!res.ok || !res.body) {
    await res.body?.cancel();
    throw new Error(res.status === 410 ? 'HTTP 410: the link expired' : `HTTP ${res.status}`);
  }
  const partial = `${path}.partial`;
  try {
    await pipeline(
      Readable.fromWeb(res.body as WebReadableStream<Uint8Array>),
      createWriteStream(partial),
    );
    await rename(partial, path);
    return (await stat(path)).size;
  } catch (error) {
    await rm(partial, { force: true });
    throw error;
  }
}

export interface DownloadOptions {
  out: string;
  concurrency: number;
  signal: AbortSignal;
  progress: boolean;
}

/** Writes a batch's audio files into `out`, `concurrency` at a time, with a progress bar. */
export async function downloadBatch(
  client: ApiClient,
  batchId: string,
  options: DownloadOptions,
): Promise<DownloadSummary> {
  const dir = resolve(options.out);
  await mkdir(dir, { recursive: true });
  const { files, withoutAudio } = await listAudio(client, batchId);
  const summary: DownloadSummary = { batchId, dir, written: [], withoutAudio, failed: [] };
  const bar = options.progress
    ? new cliProgress.SingleBar(
        {
          stream: process.stderr,
          format: '{bar} {percentage}% {value}/{total} files | {mb} MB | {failures}',
          barCompleteChar: '\u2588',
          barIncompleteChar: '\u2591',
          barsize: 24,
          hideCursor: true,
          fps: 5,
        },
        cliProgress.Presets.shades_classic,
      )
    : null;
  bar?.start(files.length, 0, { mb: '0.0', failures: '0 failed' });
  let next = 0;
  let bytes = 0;
  const worker = async () => {
    for (let file = files[next++]; file; file = files[next++]) {
      if (options.signal.aborted) return;
      const path = join(dir, file.name);
      try {
        bytes += await fetchTo(file.url, path, options.signal);
        summary.written.push(file);
      } catch (error) {
        if (options.signal.aborted) return;
        summary.failed.push({ line: file.line, ref: file.ref, reason: (error as Error).message });
      }
      bar?.increment(1, {
        mb: (bytes / 1e6).toFixed(1),
        failures: `${summary.failed.length} failed`,
      });
    }
  };
  try {
    await Promise.all(Array.from({ length: options.concurrency }, worker));
  } finally {
    bar?.stop();
  }
  summary.written.sort((a, b) => a.line - b.line);
  summary.failed.sort((a, b) => a.line - b.line);
  return summary;
}

export function downloadCommand(program: Command): void {
  program
    .command('download')
    .description("write a batch's audio files into a folder, named <ref or line number>.<type>")
    .argument('<batch-id>', 'the batch')
    .requiredOption('--out <dir>', 'the folder to write into (created if missing)')
    .option('--concurrency <n>', 'files downloaded at a time', positiveInt, DEFAULT_CONCURRENCY)
    .addHelpText(
      'after',
      `
Lines without audio (failed, canceled, not done yet) are skipped and counted. Result links
expire (about a day upstream): download soon after the batch completes.
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
          printJson({
            batch_id: summary.batchId,
            dir: summary.dir,
            files: summary.written.map((f) => ({ line: f.line, ref: f.ref, file: f.name })),
            without_audio: summary.withoutAudio,
            failed: summary.failed,
          });
        } else {
          console.log(`${summary.written.length} files written to ${summary.dir}`);
          if (summary.withoutAudio > 0) {
            console.log(
              `${summary.withoutAudio} lines have no audio (failed, canceled or not done)`,
            );
          }
        }
        if (summary.failed.length > 0) {
          throw new CliError(
            'download_failed',
            `${summary.failed.length} of ${summary.failed.length + summary.written.length} files could not be downloaded`,
            summary.failed.slice(0, 20).map((f) => `line ${f.line}: ${f.reason}`),
          );
        }
      },
    );
}
