import { z } from 'zod';

/** The RunningHub simulator (packages/runninghub-sim) and the live contract tests. */
export const simEnv = z.object({
  SIM_HOST: z.string().min(1).default('127.0.0.1'),
  SIM_PORT: z.coerce.number().int().min(0).max(65535).default(8090),
  // Comma-separated keys; unset accepts any non-empty Bearer key.
  SIM_API_KEYS: z.string().optional(),
  SIM_MAX_IN_FLIGHT: z.coerce.number().int().min(1).default(3),
  SIM_CONTROL_TOKEN: z.string().min(8).default('voxline-sim-control'),
  SIM_SEED: z.coerce.number().int().default(1),
  // Task duration: base + per character, times a log-normal factor with this sigma.
  SIM_BASE_DURATION_MS: z.coerce.number().min(0).default(3_000),
  SIM_PER_CHAR_MS: z.coerce.number().min(0).default(40),
  SIM_DURATION_SIGMA: z.coerce.number().min(0).default(0.3),
  SIM_LINK_TTL_MS: z.coerce
    .number()
    .int()
    .min(1)
    .default(24 * 3_600_000),
  // The base of URLs the simulator hands out; defaults to its own listening address.
  SIM_PUBLIC_URL: z.url().optional(),
  // Keys whose submits fail with a code, e.g. "broke-key:416,revoked-key:801".
  SIM_KEY_ERRORS: z
    .string()
    .regex(/^[^,]+:\d+(,[^,]+:\d+)*$/, 'must be key:code pairs separated by commas')
    .optional(),
  // Fault probabilities, e.g. "http502=0.02,code1003=0.05,taskFail=0.01" (kinds: see the sim).
  SIM_FAULTS: z
    .string()
    .regex(/^[A-Za-z0-9]+=(0(\.\d+)?|1(\.0+)?)(,[A-Za-z0-9]+=(0(\.\d+)?|1(\.0+)?))*$/, {
      message: 'must be kind=probability pairs separated by commas',
    })
    .optional(),
  // A slow response waits this long; the default outlasts the client's 30 s request timeout.
  SIM_SLOW_RESPONSE_MS: z.coerce.number().int().min(0).default(35_000),
  // A cloned voice unused this long (no clone finishing, no speech submitted with it) is
  // forgotten, as MiniMax deletes voices unused for 7 days.
  SIM_VOICE_TTL_MS: z.coerce
    .number()
    .int()
    .min(1)
    .default(7 * 24 * 3_600_000),
  // Where a speech call naming an unknown voice fails with 2054 "voice id not exist": at once
  // (the submit answers the code) or as a task that ends FAILED.
  SIM_VOICE_MISSING_AT: z.enum(['submit', 'task']).default('task'),
  // The contract calls a duplicate custom_voice_id an upstream error (MiniMax 2039).
  SIM_DUPLICATE_VOICE_ID: z.enum(['allow', 'fail-task']).default('fail-task'),
  // The code of a task failed by the taskFail fault (1005: upstream internal error).
  SIM_TASK_FAIL_CODE: z.string().regex(/^\d+$/, 'must be a numeric code').default('1005'),
  // 0..1: how often each detail of an answer takes another shape real RunningHub uses (usage
  // fields absent, null or numbers, codes as numbers, extra fields, only outputUrl...); 0: none.
  SIM_SHAPE_VARIETY: z.coerce.number().min(0).max(1).default(0),
  // A submit's webhookUrl is called back when its task ends, with eventData (the query answer)
  // as a JSON string, an object, or each in turn task by task (both forms RunningHub uses).
  SIM_CALLBACK_EVENT_DATA: z.enum(['alternate', 'string', 'object']).default('alternate'),
  // How late the callbackLate fault sends when the scenario names no delay.
  SIM_CALLBACK_LATE_MS: z.coerce.number().int().min(0).default(10_000),
  // Sends of one callback at most, the first included: RunningHub re-sends to a receiver that
  // answers non-2xx or times out, after SIM_CALLBACK_BACKOFF_MS, doubling each time.
  SIM_CALLBACK_ATTEMPTS: z.coerce.number().int().min(1).max(20).default(3),
  SIM_CALLBACK_BACKOFF_MS: z.coerce.number().int().min(0).default(1_000),
  SIM_CALLBACK_TIMEOUT_MS: z.coerce.number().int().min(1).default(5_000),
  // Task records kept in memory (and callback sends pending); the oldest finished ones are
  // dropped beyond it.
  SIM_MAX_TASKS: z.coerce.number().int().min(100).default(100_000),
  // Who speaks the results: espeak-ng when installed (auto), espeak-ng or refuse to start, or
  // always the tone (cheap, the same length).
  SIM_SYNTH: z.enum(['auto', 'espeak-ng', 'tone']).default('auto'),
  // The result file type (`outputType`); mp3 is encoded by Debian's lame.
  SIM_AUDIO_FORMAT: z.enum(['wav', 'mp3']).default('wav'),
  // The simulator's files folder (rendered audio is cached in its audio/); default: the OS tmpdir.
  SIM_FILES_DIR: z.string().min(1).optional(),
  SIM_AUDIO_CACHE_MB: z.coerce.number().int().min(1).default(256),
  // Synthesizer processes at a time; more requests wait for one.
  SIM_SYNTH_CONCURRENCY: z.coerce.number().int().min(1).max(64).default(2),
  // The contract suite also runs against the real RunningHub (costs money per submit) when
  // this is set together with RUNNINGHUB_API_KEY.
  RUNNINGHUB_LIVE: z.stringbool().default(false),
});
