import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import type { SpeechModel } from '@voxline/runninghub';
import type { Command } from 'commander';
import { ApiClient } from '../api/client.js';
import { cliConfig, type GlobalOptions } from '../context.js';
import { DEFAULT_BATCH_SIZE, DEFAULT_MAX_BODY_BYTES } from '../enqueue/batches.js';
import { CliError } from '../output.js';
import { runStack } from '../services/stack.js';
import { createVoice, type VoiceInput } from '../voices/create.js';
import { characters, costComparison } from '../voices/demo-cost.js';
import { follow, printSummary } from '../watch/follow.js';
import { downloadBatch } from './download.js';
import { enqueueFile } from './enqueue.js';
import { positiveInt } from './shared.js';

export const SAMPLE_NARRATION = fileURLToPath(
  new URL('../../../../samples/narration.txt', import.meta.url),
);

/**
 * The demo's simulator is fast and roomy so a few hundred lines finish in about a minute on a
 * small machine; the defaults model RunningHub instead (3 slots, 3 s + 40 ms a character).
 */
export const DEMO_SETTINGS: Record<string, string> = {
  SIM_MAX_IN_FLIGHT: '10',
  RUNNINGHUB_MAX_IN_FLIGHT: '10',
  SIM_BASE_DURATION_MS: '800',
  SIM_PER_CHAR_MS: '10',
  // Tasks take about 2 s here; the default floor of 1 s between polls would add half of that.
  POLL_MIN_INTERVAL_MS: '200',
};

// The simulator accepts any http(s) reference audio without fetching it. The API's address
// guard resolves hosts, and this machine may have no DNS: the demo's host is allowlisted.
const DEMO_AUDIO_HOST = 'example.com';
export const DEMO_VOICE: VoiceInput = {
  url: `https://${DEMO_AUDIO_HOST}/voices/narrator.wav`,
  name: 'demo narrator',
  language_boost: 'English',
};
const DEMO_MODEL: SpeechModel = 'speech-02-hd';

const DEFAULT_READY_TIMEOUT_S = 120;

export function startCommand(program: Command): void {
  program
    .command('start')
    .description(
      'run migrations, the API, the worker and (when RUNNINGHUB_BASE_URL is unset) the simulator, until Ctrl-C',
    )
    .option(
      '--ready-timeout <seconds>',
      'how long to wait for readiness',
      positiveInt,
      DEFAULT_READY_TIMEOUT_S,
    )
    .addHelpText(
      'after',
      `
Configuration comes from the environment (PORT, SIM_PORT, DATABASE_URL, REDIS_URL, …; see
packages/config). Examples:
  pnpm start
  PORT=3001 SIM_PORT=8091 pnpm start
  RUNNINGHUB_BASE_URL=https://www.runninghub.ai RUNNINGHUB_API_KEY=… pnpm start`,
    )
    .action(async (flags: { readyTimeout: number }, command: Command) => {
      const globals = command.optsWithGlobals<GlobalOptions>();
      process.exitCode = await runStack({
        config: cliConfig(),
        json: globals.json ?? false,
        readyTimeoutMs: flags.readyTimeout * 1000,
      });
    });
}

export function demoCommand(program: Command): void {
  program
    .command('demo')
    .description(
      'start everything on the simulator, clone a voice once, narrate samples/narration.txt with it, show the cost, then keep serving',
    )
    .option(
      '--out <file>',
      'where to write results.csv',
      join(tmpdir(), 'voxline-demo', 'results.csv'),
    )
    .option('--file <file>', 'narrate this txt file instead of the sample', SAMPLE_NARRATION)
    .option('--verbose', "show the services' info logs (the demo shows warnings only)")
    .option(
      '--ready-timeout <seconds>',
      'how long to wait for readiness',
      positiveInt,
      DEFAULT_READY_TIMEOUT_S,
    )
    .action(
      async (flags: { out: string; file: string; verbose?: boolean; readyTimeout: number }) => {
        const config = cliConfig();
        if (config.RUNNINGHUB_BASE_URL) {
          throw new CliError(
            'demo_needs_simulator',
            `the demo runs on the simulator only: it would pay for a voice clone and hundreds of speech calls at ${config.RUNNINGHUB_BASE_URL}. Unset RUNNINGHUB_BASE_URL for the demo, or use \`voxline start\` and \`voxline enqueue\``,
          );
        }
        const allowlist = [config.AUDIO_URL_ALLOWLIST, DEMO_AUDIO_HOST].filter(Boolean).join(',');
        const overrides: Record<string, string> = {
          ...DEMO_SETTINGS,
          AUDIO_URL_ALLOWLIST: allowlist,
          ...(flags.verbose ? {} : { LOG_LEVEL: 'warn' }),
        };
        const shown = Object.entries(DEMO_SETTINGS)
          .map(([k, v]) => `${k}=${v}`)
          .join(' ');
        process.exitCode = await runStack({
          config,
          // The demo is for a person at a terminal: --json is not honoured here.
          json: false,
          readyTimeoutMs: flags.readyTimeout * 1000,
          overrides,
          preamble: [
            `demo settings, chosen so the sample finishes in about a minute (not the defaults, which model RunningHub's pace): ${shown}`,
            `services log warnings only (--verbose for everything); reference audio host ${DEMO_AUDIO_HOST} allowlisted (AUDIO_URL_ALLOWLIST)`,
          ],
          afterReady: async (stack, signal) => {
            const admin = new ApiClient({
              baseUrl: stack.apiUrl,
              adminToken: stack.config.ADMIN_TOKEN,
            });
            const tenant = await admin.createTenant(`demo ${new Date().toISOString()}`);
            stack.say(`tenant "${tenant.name}" created (POST /admin/tenants)`);
            const client = new ApiClient({ baseUrl: stack.apiUrl, apiKey: tenant.api_key });
            const startedAt = Date.now();
            // One clone for the whole narration; every line is then a speech call with it.
            const { voice: created } = await createVoice(client, DEMO_VOICE);
            stack.say(
              `voice ${created.id} cloning once from ${DEMO_VOICE.url} (POST /v1/voices); the lines wait for it without holding an upstream slot`,
            );
            const sent = await enqueueFile(client, {
              file: flags.file,
              format: 'txt',
              speaker: { kind: 'voice', voiceId: created.id },
              defaults: { model: DEMO_MODEL },
              batchSize: DEFAULT_BATCH_SIZE,
              maxBatchBytes: DEFAULT_MAX_BODY_BYTES,
              voiceIdMinLength: stack.config.CUSTOM_VOICE_ID_MIN_LENGTH,
              signal,
              chatty: true,
            });
            const result = await follow(client, sent, {
              json: false,
              intervalMs: 500,
              out: flags.out,
              signal,
              startedAt,
            });
            printSummary(result);
            const voice = await client.getVoice(created.id, signal);
            stack.say(
              `voice ${voice.id}: ${voice.status}, upstream id ${voice.upstream_voice_id ?? '-'}, ${voice.clones} clone${voice.clones === 1 ? '' : 's'}`,
            );
            for (const line of costComparison(voice, result, await characters(flags.file))) {
              stack.say(line);
            }
            const say = (line: string) => stack.say(line);
            const audioDir = join(dirname(flags.out), 'audio');
            const written = [];
            for (const batch of sent) {
              const out = sent.length === 1 ? audioDir : join(audioDir, batch.id);
              const got = await downloadBatch(client, batch.id, {
                out,
                concurrency: 4,
                signal,
                progress: false,
              });
              written.push(...got.written.map((file) => join(got.dir, file.name)));
            }
            say(
              `${written.length} audio files in ${audioDir} (voxline download BATCH --out DIR); listen to a few:`,
            );
            for (const file of written.slice(0, 3)) say(`  ${file}`);
            say(`Bull Board: ${stack.apiUrl}/admin/queues  (user admin, password = ADMIN_TOKEN)`);
            say(`API docs:   ${stack.apiUrl}/docs`);
            say('try the CLI against it (in another terminal):');
            say(`  export VOXLINE_API_KEY=${tenant.api_key}`);
            say(`  pnpm voxline status ${sent.map((b) => b.id).join(' ')}`);
          },
        });
      },
    );
}
