import type { VoiceResponse as Voice } from '@voxline/contract';
import { LANGUAGE_BOOSTS, VOICE_CLONE_MODELS } from '@voxline/runninghub';
import type { Command } from 'commander';
import { apiClient, type GlobalOptions, interruption } from '../context.js';
import { parseJsonFlag } from '../enqueue/speaker.js';
import { CliError, EXIT, note, printJson, table } from '../output.js';
import { createVoice } from '../voices/create.js';
import { waitForVoice } from '../voices/wait.js';
import { formatMoney } from '../watch/cost.js';
import { apiFlag, positiveInt } from './shared.js';

const PAGE = 100;
const DEFAULT_WAIT_INTERVAL_MS = 1_000;

function date(value: string | null): string {
  return value ? value.replace('T', ' ').slice(0, 19) : '-';
}

function costText(voice: Voice): string {
  const { estimated, actual, currency } = voice.cost;
  return actual === null
    ? `${formatMoney(estimated, currency)} (estimated)`
    : formatMoney(actual, currency);
}

/** The voice as a few lines for a person. */
export function describeVoice(voice: Voice): string {
  const rows: string[][] = [
    ['voice', `${voice.id}${voice.name ? `  "${voice.name}"` : ''}`],
    ['status', voice.status],
    ['upstream voice id', voice.upstream_voice_id ?? '-'],
    ['clones', String(voice.clones)],
    ['cost', costText(voice)],
    ['keep alive', voice.keep_alive ? 'yes' : 'no'],
    ['preview', voice.preview?.url ?? '-'],
    ['created', date(voice.created_at)],
    ['last used', date(voice.last_used_at)],
    ['expires upstream', date(voice.expires_at)],
  ];
  if (voice.error) rows.push(['error', `${voice.error.code}: ${voice.error.message}`]);
  return table(rows);
}

interface CreateFlags {
  file?: string;
  url?: string;
  name?: string;
  model?: string;
  accuracy?: string;
  languageBoost?: string;
  noiseReduction?: boolean;
  volumeNormalization?: boolean;
  previewText?: string;
  keepAlive?: boolean;
  metadata?: string;
  wait?: boolean;
  interval: number;
}

function createCommand(voices: Command): void {
  voices
    .command('create')
    .description('clone a voice once from reference audio (a local file or a URL)')
    .option('--file <path>', 'a local MP3 or WAV file (uploaded, then sent upstream by voxline)')
    .option('--url <url>', 'an http(s) URL of an MP3 or WAV file')
    .option('--name <name>', 'a name to tell the voice by')
    .option('--model <model>', `the preview's model: ${VOICE_CLONE_MODELS.join(', ')}`)
    .option('--accuracy <number>', 'clone accuracy, 0 to 1')
    .option('--language-boost <language>', `one of ${LANGUAGE_BOOSTS.slice(0, 4).join(', ')}, …`)
    .option('--noise-reduction', 'need_noise_reduction: true')
    .option('--volume-normalization', 'need_volume_normalization: true')
    .option('--preview-text <text>', "what the preview says (default: the API's)")
    .option(
      '--keep-alive',
      'keep the voice from expiring upstream (7 days unused) with a cheap speech call',
    )
    .option('--metadata <json>', 'a JSON object stored with the voice and echoed back')
    .option('--wait', 'wait until the voice is ready (or failed), with a spinner')
    .option(
      '--interval <ms>',
      'how often to ask while waiting',
      positiveInt,
      DEFAULT_WAIT_INTERVAL_MS,
    )
    .addHelpText(
      'after',
      `
Examples:
  voxline voices create --file narrator.wav --name Narrator --wait
  voxline voices create --url https://cdn.example.com/me.mp3 --keep-alive --json`,
    )
    .action(async (flags: CreateFlags, command: Command) => {
      const globals = command.optsWithGlobals<GlobalOptions>();
      const json = globals.json ?? false;
      const client = apiClient(globals);
      let metadata: Record<string, unknown> | undefined;
      if (flags.metadata !== undefined) {
        const parsed = parseJsonFlag('--metadata', flags.metadata);
        if (parsed === null || typeof parsed !== 'object' || Array.isArray(parsed)) {
          throw new CliError('invalid_option', '--metadata must be a JSON object');
        }
        metadata = parsed as Record<string, unknown>;
      }
      const accuracy = flags.accuracy === undefined ? undefined : Number(flags.accuracy);
      const { voice: created, replayed } = await createVoice(client, {
        url: flags.url,
        file: flags.file,
        name: flags.name,
        model: flags.model,
        accuracy,
        language_boost: flags.languageBoost,
        need_noise_reduction: flags.noiseReduction,
        need_volume_normalization: flags.volumeNormalization,
        preview_text: flags.previewText,
        keep_alive: flags.keepAlive,
        metadata,
      });
      if (!json) {
        note(
          `voice ${created.id} ${replayed ? 'already created (same request)' : 'created'}: ${created.status}`,
        );
      }
      let voice = created;
      if (flags.wait) {
        const stop = interruption();
        try {
          voice = await waitForVoice(client, created, {
            intervalMs: flags.interval,
            signal: stop.signal,
            quiet: json,
          });
        } catch (error) {
          if (!stop.signal.aborted) throw error;
          note('');
          note(`interrupted: the voice keeps cloning on the server.`);
          note(`see it with: voxline${apiFlag(globals)} voices show ${created.id}`);
          process.exitCode = EXIT.interrupted;
          return;
        } finally {
          stop.dispose();
        }
      }
      if (json) printJson(voice);
      else {
        console.log(describeVoice(voice));
        if (voice.status === 'cloning') {
          note(`wait for it with: voxline${apiFlag(globals)} voices show ${voice.id} --wait`);
        } else if (voice.status === 'ready') {
          note(`speak with it: voxline${apiFlag(globals)} enqueue FILE --voice ${voice.id}`);
        }
      }
      // Waited to the end, and the clone failed: like lines that failed.
      if (voice.status === 'failed') process.exitCode = EXIT.unfinishedLines;
    });
}

function listCommand(voices: Command): void {
  voices
    .command('list')
    .description("the tenant's voices, newest first")
    .option('--limit <n>', 'at most this many', positiveInt, 100)
    .action(async (flags: { limit: number }, command: Command) => {
      const globals = command.optsWithGlobals<GlobalOptions>();
      const client = apiClient(globals);
      const found: Voice[] = [];
      let cursor: string | null = null;
      do {
        const page = await client.listVoices(cursor, Math.min(PAGE, flags.limit - found.length));
        found.push(...page.data);
        cursor = page.next_cursor;
      } while (cursor && found.length < flags.limit);
      if (globals.json) {
        printJson({ data: found, more: cursor !== null });
        return;
      }
      if (found.length === 0) {
        console.log('no voices (voxline voices create --file PATH makes one)');
        return;
      }
      console.log(
        table([
          ['voice', 'name', 'status', 'clones', 'cost', 'last used', 'expires upstream'],
          ...found.map((v) => [
            v.id,
            v.name ?? '-',
            v.status,
            String(v.clones),
            costText(v),
            date(v.last_used_at),
            date(v.expires_at),
          ]),
        ]),
      );
      if (cursor) console.log(`(more than ${found.length}: --limit N shows more)`);
    });
}

function showCommand(voices: Command): void {
  voices
    .command('show')
    .description('one voice: status, upstream id, preview, cost; --wait until it is ready')
    .argument('<id>', 'the voice id')
    .option('--wait', 'wait until the voice is ready (or failed), with a spinner')
    .option(
      '--interval <ms>',
      'how often to ask while waiting',
      positiveInt,
      DEFAULT_WAIT_INTERVAL_MS,
    )
    .action(async (id: string, flags: { wait?: boolean; interval: number }, command: Command) => {
      const globals = command.optsWithGlobals<GlobalOptions>();
      const json = globals.json ?? false;
      const client = apiClient(globals);
      let voice = await client.getVoice(id);
      if (flags.wait) {
        const stop = interruption();
        try {
          voice = await waitForVoice(client, voice, {
            intervalMs: flags.interval,
            signal: stop.signal,
            quiet: json,
          });
        } catch (error) {
          if (!stop.signal.aborted) throw error;
          process.exitCode = EXIT.interrupted;
          return;
        } finally {
          stop.dispose();
        }
        if (voice.status === 'failed') process.exitCode = EXIT.unfinishedLines;
      }
      if (json) printJson(voice);
      else console.log(describeVoice(voice));
    });
}

function deleteCommand(voices: Command): void {
  voices
    .command('delete')
    .description('delete a voice (refused while lines of it are still to be spoken)')
    .argument('<id>', 'the voice id')
    .action(async (id: string, _flags: unknown, command: Command) => {
      const globals = command.optsWithGlobals<GlobalOptions>();
      await apiClient(globals).deleteVoice(id);
      if (globals.json) printJson({ id, deleted: true });
      else console.log(`voice ${id} deleted`);
    });
}

export function voicesCommand(program: Command): void {
  const voices = program
    .command('voices')
    .description('voices cloned once and spoken with by every line: create, list, show, delete')
    .addHelpText(
      'after',
      `
A voice is cloned once (3.12 CNY on the public price list); every line spoken with it is a
speech call priced per character (speech-02-hd: 0.31 CNY per 1,000). Examples:
  voxline voices create --file narrator.wav --name Narrator --wait
  voxline enqueue chapter1.txt --voice <voice id> --wait`,
    );
  createCommand(voices);
  listCommand(voices);
  showCommand(voices);
  deleteCommand(voices);
}
