import { readFile } from 'node:fs/promises';
import type { Command } from 'commander';
import type { ApiClient } from '../api/client.js';
import { apiClient, cliConfig, type GlobalOptions, interruption } from '../context.js';
import { DEFAULT_BATCH_SIZE, DEFAULT_MAX_BODY_BYTES } from '../enqueue/batches.js';
import { checkFile, type SentBatch, sendFile } from '../enqueue/enqueue.js';
import { formatOf, type InputFormat } from '../input/read.js';
import { describeIssues, lineSchema, type Voice, voiceSchema } from '../input/schema.js';
import { CliError, EXIT, note, printJson } from '../output.js';
import {
  exitCodeOf,
  type FollowResult,
  follow,
  printSummary,
  reportInterrupted,
} from '../watch/follow.js';
import { printLine } from '../watch/progress.js';
import { DEFAULT_POLL_INTERVAL_MS } from '../watch/watch.js';
import { apiFlag, positiveInt } from './shared.js';

interface VoiceFlags {
  voice?: string;
  audio?: string;
  voiceId?: string;
  model?: string;
  languageBoost?: string;
  accuracy?: string;
  noiseReduction?: boolean;
  volumeNormalization?: boolean;
}

interface EnqueueFlags extends VoiceFlags {
  format?: string;
  webhookUrl?: string;
  metadata?: string;
  batchSize: number;
  maxBatchBytes: number;
  idempotencySalt?: string;
  wait?: boolean;
  out?: string;
  interval: number;
}

function parseJsonFlag(flag: string, text: string): unknown {
  try {
    return JSON.parse(text);
  } catch (error) {
    throw new CliError('invalid_option', `${flag} is not valid JSON: ${(error as Error).message}`);
  }
}

/** The voice from `--voice voice.json`, with any voice flag given on top of it. */
export async function voiceFrom(flags: VoiceFlags, voiceIdMinLength: number): Promise<Voice> {
  let base: Record<string, unknown> = {};
  if (flags.voice) {
    let text: string;
    try {
      text = await readFile(flags.voice, 'utf8');
    } catch (error) {
      throw new CliError(
        'invalid_voice',
        `cannot read ${flags.voice}: ${(error as Error).message}`,
      );
    }
    const parsed = parseJsonFlag(`--voice ${flags.voice}`, text);
    if (parsed === null || typeof parsed !== 'object' || Array.isArray(parsed)) {
      throw new CliError('invalid_voice', `${flags.voice} must hold a JSON object`);
    }
    base = parsed as Record<string, unknown>;
  }
  const given: Record<string, unknown> = {
    audio: flags.audio,
    custom_voice_id: flags.voiceId,
    model: flags.model,
    language_boost: flags.languageBoost,
    accuracy: flags.accuracy === undefined ? undefined : Number(flags.accuracy),
    need_noise_reduction: flags.noiseReduction,
    need_volume_normalization: flags.volumeNormalization,
  };
  const merged = { ...base };
  for (const [key, value] of Object.entries(given)) if (value !== undefined) merged[key] = value;
  const result = voiceSchema({ voiceIdMinLength }).safeParse(merged);
  if (!result.success) {
    const missing = !merged.audio || !merged.custom_voice_id;
    throw new CliError(
      'invalid_voice',
      missing
        ? 'a voice needs a reference audio URL and a voice id: --audio URL --voice-id ID, or --voice voice.json'
        : 'the voice is invalid',
      describeIssues(result.error, merged),
    );
  }
  return result.data;
}

export interface EnqueueParams {
  file: string;
  format: InputFormat;
  voice: Voice;
  webhookUrl?: string | undefined;
  metadata?: Record<string, unknown> | undefined;
  batchSize: number;
  maxBatchBytes: number;
  salt?: string | undefined;
  voiceIdMinLength: number;
  signal: AbortSignal;
  /** Human notes per batch (false with --json). */
  chatty: boolean;
}

/** Checks the whole file, then sends it batch by batch. */
export async function enqueueFile(client: ApiClient, p: EnqueueParams): Promise<SentBatch[]> {
  const schema = lineSchema({ voiceIdMinLength: p.voiceIdMinLength });
  let check: Awaited<ReturnType<typeof checkFile>>;
  try {
    check = await checkFile(p.file, p.format, schema);
  } catch (error) {
    throw new CliError('invalid_file', `cannot read ${p.file}: ${(error as Error).message}`);
  }
  if (check.problemCount > 0) {
    const more =
      check.problemCount > check.problems.length
        ? ` (the first ${check.problems.length} shown)`
        : '';
    throw new CliError(
      'invalid_file',
      `${p.file} has ${check.problemCount} bad line${check.problemCount > 1 ? 's' : ''}${more}; nothing was sent`,
      check.problems.map((x) => `line ${x.line}: ${x.error}`),
    );
  }
  if (check.lines === 0) {
    throw new CliError('invalid_file', `${p.file} has no lines to speak; nothing was sent`);
  }
  if (p.chatty) note(`${p.file}: ${check.lines} lines (${p.format})`);
  return sendFile(client, {
    file: p.file,
    format: p.format,
    schema,
    voice: p.voice,
    webhookUrl: p.webhookUrl,
    metadata: p.metadata,
    batchSize: p.batchSize,
    maxBodyBytes: p.maxBatchBytes,
    salt: p.salt,
    signal: p.signal,
    onBatch: (b) => {
      if (!p.chatty) return;
      const what = b.replayed
        ? `already enqueued as ${b.id} (same request; not sent twice)`
        : `accepted as ${b.id}`;
      printLine(
        `batch ${b.index + 1} (lines ${b.firstLine}-${b.lastLine}, ${b.lines} lines): ${what}`,
      );
    },
  });
}

export function batchJson(b: SentBatch) {
  return {
    id: b.id,
    lines: b.lines,
    first_line: b.firstLine,
    last_line: b.lastLine,
    idempotency_key: b.idempotencyKey,
    replayed: b.replayed,
  };
}

export function followJson(result: FollowResult) {
  return {
    total: result.total,
    counts: result.counts,
    elapsed_ms: result.elapsedMs,
    rate_per_s: Math.round(result.rate * 100) / 100,
    results_file: result.results?.file ?? null,
    batch_status: Object.fromEntries(result.batches.map((b) => [b.id, b.status])),
  };
}

export function enqueueCommand(program: Command): void {
  program
    .command('enqueue')
    .description('enqueue a narration file (txt, csv or ndjson) as batches')
    .argument('<file>', 'txt (a line each), csv (a "text" column) or ndjson (objects with "text")')
    .option('--format <format>', 'txt, csv or ndjson (default: from the extension, else txt)')
    .option('--voice <file>', 'a JSON file with the voice: {"audio": …, "custom_voice_id": …, …}')
    .option('--audio <url>', 'reference audio (http(s) URL of an MP3 or WAV file)')
    .option(
      '--voice-id <id>',
      'custom_voice_id: 8+ letters/digits/-/_, starts with a letter, has a digit',
    )
    .option('--model <model>', 'e.g. speech-02-hd (default), speech-2.6-hd, speech-2.8-turbo')
    .option('--language-boost <language>', 'e.g. English, Chinese, auto')
    .option('--accuracy <number>', 'clone accuracy, 0 to 1')
    .option('--noise-reduction', 'need_noise_reduction: true')
    .option('--volume-normalization', 'need_volume_normalization: true')
    .option('--webhook-url <url>', 'where clone and batch events are delivered')
    .option('--metadata <json>', 'a JSON object stored with each batch and echoed back')
    .option(
      '--batch-size <n>',
      "lines per batch, at most the API's BATCH_MAX_LINES",
      positiveInt,
      DEFAULT_BATCH_SIZE,
    )
    .option(
      '--max-batch-bytes <n>',
      'cut a batch before its body passes this size',
      positiveInt,
      DEFAULT_MAX_BODY_BYTES,
    )
    .option(
      '--idempotency-salt <text>',
      'send the same file again as new batches (default: re-runs are not duplicated)',
    )
    .option('--wait', 'show progress until every line is done, then a summary')
    .option(
      '--out <file>',
      'write results.csv (ref, line, status, audio url, error); implies --wait',
    )
    .option(
      '--interval <ms>',
      'how often to ask for progress',
      positiveInt,
      DEFAULT_POLL_INTERVAL_MS,
    )
    .addHelpText(
      'after',
      `
Examples:
  voxline enqueue chapter1.txt --audio https://cdn.example.com/me.wav --voice-id narrator01 --wait
  voxline enqueue book.csv --voice voice.json --out results.csv
  voxline enqueue lines.ndjson --voice voice.json --json`,
    )
    .action(async (file: string, flags: EnqueueFlags, command: Command) => {
      const globals = command.optsWithGlobals<GlobalOptions>();
      const json = globals.json ?? false;
      const config = cliConfig();
      const client = apiClient(globals);
      const format = (() => {
        try {
          return formatOf(file, flags.format);
        } catch (error) {
          throw new CliError('invalid_option', (error as Error).message);
        }
      })();
      const voice = await voiceFrom(flags, config.CUSTOM_VOICE_ID_MIN_LENGTH);
      let metadata: Record<string, unknown> | undefined;
      if (flags.metadata !== undefined) {
        const parsed = parseJsonFlag('--metadata', flags.metadata);
        if (parsed === null || typeof parsed !== 'object' || Array.isArray(parsed)) {
          throw new CliError('invalid_option', '--metadata must be a JSON object');
        }
        metadata = parsed as Record<string, unknown>;
      }
      const wait = flags.wait === true || flags.out !== undefined;
      const stop = interruption();
      const startedAt = Date.now();
      const sent: SentBatch[] = [];
      try {
        try {
          sent.push(
            ...(await enqueueFile(client, {
              file,
              format,
              voice,
              webhookUrl: flags.webhookUrl,
              metadata,
              batchSize: flags.batchSize,
              maxBatchBytes: flags.maxBatchBytes,
              salt: flags.idempotencySalt,
              voiceIdMinLength: config.CUSTOM_VOICE_ID_MIN_LENGTH,
              signal: stop.signal,
              chatty: !json,
            })),
          );
        } catch (error) {
          if (!stop.signal.aborted) throw error;
          note('');
          note('interrupted while sending: batches already accepted keep running.');
          note('run the same command again to send the rest: accepted batches are not sent twice.');
          process.exitCode = EXIT.interrupted;
          return;
        }
        const ids = sent.map((b) => b.id);
        if (!wait) {
          if (json) {
            printJson({
              file,
              lines: sent.reduce((n, b) => n + b.lines, 0),
              batches: sent.map(batchJson),
            });
          } else {
            note(`follow with: voxline${apiFlag(globals)} status ${ids.join(' ')} --wait`);
          }
          return;
        }
        let result: FollowResult;
        try {
          result = await follow(client, sent, {
            json,
            intervalMs: flags.interval,
            out: flags.out,
            signal: stop.signal,
            startedAt,
          });
        } catch (error) {
          if (!stop.signal.aborted) throw error;
          process.exitCode = reportInterrupted(ids, json, apiFlag(globals));
          return;
        }
        if (json) {
          printJson({
            file,
            lines: result.total,
            batches: sent.map(batchJson),
            ...followJson(result),
          });
        } else {
          printSummary(result);
        }
        process.exitCode = exitCodeOf(result);
      } finally {
        stop.dispose();
      }
    });
}
