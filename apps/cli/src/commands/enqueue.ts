import { EMOTIONS, SYSTEM_VOICES } from '@voxline/runninghub';
import type { Command } from 'commander';
import type { ApiClient } from '../api/client.js';
import { apiClient, cliConfig, type GlobalOptions, interruption } from '../context.js';
import {
  DEFAULT_BATCH_SIZE,
  DEFAULT_MAX_BODY_BYTES,
  lineModeOf,
  type Speaker,
  type SpeechDefaults,
} from '../enqueue/batches.js';
import { checkFile, type SentBatch, sendFile } from '../enqueue/enqueue.js';
import { parseJsonFlag, type SpeakerFlags, speakerFrom } from '../enqueue/speaker.js';
import { formatOf, type InputFormat } from '../input/read.js';
import { lineSchema } from '../input/schema.js';
import { CliError, EXIT, note, printJson } from '../output.js';
import { formatMoney } from '../watch/cost.js';
import {
  exitCodeOf,
  type FollowResult,
  follow,
  printSummary,
  reportInterrupted,
} from '../watch/follow.js';
import { printLine } from '../watch/progress.js';
import { DEFAULT_POLL_INTERVAL_MS } from '../watch/watch.js';
import { apiFlag, positiveInt, positiveNumber } from './shared.js';

interface EnqueueFlags extends SpeakerFlags {
  format?: string;
  webhookUrl?: string;
  metadata?: string;
  maxCost?: number;
  batchSize: number;
  maxBatchBytes: number;
  idempotencySalt?: string;
  wait?: boolean;
  out?: string;
  interval: number;
}

export interface EnqueueParams {
  file: string;
  format: InputFormat;
  speaker: Speaker;
  defaults?: SpeechDefaults | undefined;
  /** The whole file's budget, in the API's currency (CNY). */
  maxCost?: number | undefined;
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
  const schema = lineSchema({
    voiceIdMinLength: p.voiceIdMinLength,
    mode: lineModeOf(p.speaker),
  });
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
    speaker: p.speaker,
    defaults: p.defaults,
    maxCost: p.maxCost,
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
      const estimate = `, estimated ${formatMoney(b.estimatedCost)}`;
      printLine(
        `batch ${b.index + 1} (lines ${b.firstLine}-${b.lastLine}, ${b.lines} lines): ${what}${estimate}`,
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
    estimated_cost: b.estimatedCost,
  };
}

export function followJson(result: FollowResult) {
  return {
    total: result.total,
    counts: result.counts,
    cost: result.money,
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
    .option(
      '--voice <id-or-file>',
      'a voice id (voxline voices create), or a JSON file with a voice to clone: {"audio": …, "custom_voice_id": …}',
    )
    .option('--system-voice <name>', `a MiniMax system voice: ${SYSTEM_VOICES.join(', ')}`)
    .option('--audio <url>', 'a voice to clone: reference audio (http(s) URL of an MP3 or WAV)')
    .option(
      '--voice-id <id>',
      'a voice to clone: custom_voice_id, 8+ letters/digits/-/_, starts with a letter, has a digit',
    )
    .option(
      '--model <model>',
      'speech model of the lines: speech-02-hd (default), speech-2.8-hd, …; with --per-line-clone the clone model',
    )
    .option('--language-boost <language>', 'a voice to clone: e.g. English, Chinese, auto')
    .option('--accuracy <number>', 'a voice to clone: clone accuracy, 0 to 1')
    .option('--noise-reduction', 'a voice to clone: need_noise_reduction: true')
    .option('--volume-normalization', 'a voice to clone: need_volume_normalization: true')
    .option(
      '--per-line-clone',
      'clone the voice once a line (3.12 CNY each) instead of once for the batch',
    )
    .option('--speed <n>', 'speech speed, 0.5 to 2')
    .option('--volume <n>', 'speech volume, 0.1 to 10')
    .option('--pitch <n>', 'speech pitch, an integer from -12 to 12')
    .option('--emotion <emotion>', `one of ${EMOTIONS.join(', ')}`)
    .option('--english-normalization', 'english_normalization: true (numbers read as words)')
    .option(
      '--pronunciation <entry>',
      'a pronunciation_dict entry such as "ASAP/As soon as possible" (repeat for more)',
      (value: string, previous: string[] = []) => [...previous, value],
    )
    .option(
      '--max-cost <cny>',
      "the file's budget: a batch that would take the estimate past it is refused (422 budget_exceeded)",
      positiveNumber,
    )
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
      'write results.csv (ref, line, status, audio url, error, cost); implies --wait',
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
  voxline enqueue chapter1.txt --voice 0193c3d6-5c7e-7a51-9f0e-2b8f4c1d9e21 --wait
  voxline enqueue chapter1.txt --audio https://cdn.example.com/me.wav --voice-id narrator01 --wait
  voxline enqueue book.csv --voice voice.json --model speech-2.8-hd --max-cost 50 --out results.csv
  voxline enqueue lines.ndjson --system-voice Wise_Woman --speed 1.1 --json`,
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
      const { speaker, defaults } = await speakerFrom(flags, config.CUSTOM_VOICE_ID_MIN_LENGTH);
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
              speaker,
              defaults,
              maxCost: flags.maxCost,
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
