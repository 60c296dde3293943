import type { AddressInfo } from 'node:net';
import multipart from '@fastify/multipart';
import { PATHS, SPEECH_MODELS, speechPath } from '@voxline/runninghub';
import Fastify, {
  type FastifyBaseLogger,
  type FastifyInstance,
  type FastifyRequest,
  LogController,
} from 'fastify';
import { registerControlRoutes } from './control-routes.js';
import { keyLabel } from './keys.js';
import { DEFAULT_SIM_OPTIONS, type SimOptions } from './options.js';
import { sendReply } from './reply.js';
import type { Scenario } from './scenario.js';
import { type CurrentScenario, type SimTaskView, Simulator } from './simulator.js';
import type { SimStats } from './stats.js';
import { AudioRenderer, type RenderStats } from './synth/renderer.js';
import type { SimVoiceView } from './voices.js';

export interface SimulatorHandle {
  /** e.g. http://127.0.0.1:39123: the client's baseUrl. */
  url: string;
  port: number;
  stats(): SimStats;
  tasks(): SimTaskView[];
  task(taskId: string): SimTaskView | null;
  /** Same as DELETE /_sim/tasks/<id>: the task expires now; false if there was none. */
  forgetTask(taskId: string): boolean;
  /** Same as GET /_sim/voices: every key's cloned voices, alive or forgotten. */
  voices(): SimVoiceView[];
  /** Same as DELETE /_sim/voices/<id>: upstream forgets the voice now; false if unknown. */
  forgetVoice(voiceId: string): boolean;
  /** Same as PUT /_sim/scenario; throws a ZodError for a bad scenario. */
  setScenario(scenario: Scenario): void;
  scenario(): CurrentScenario;
  /** Same as POST /_sim/reset. */
  reset(): void;
  /**
   * Sends the callbacks due by the simulator's clock now (retries whose backoff has passed
   * included) and resolves, with how many requests it sent, once each has been answered or has
   * timed out. On the real clock callbacks go out by themselves; with a clock moved by hand
   * (`options.now`), call this after moving it. Same as POST /_sim/callbacks/flush.
   */
  flushCallbacks(): Promise<number>;
  /** Result audio: which synthesizer speaks it, and what its pool and cache did. */
  audio(): { synth: 'espeak-ng' | 'tone'; format: 'wav' | 'mp3' } & RenderStats;
  /** How a key appears in stats and task lists. */
  keyLabel(key: string): string;
  close(): Promise<void>;
}

// Renders queued ahead of their downloads: a burst of a few thousand submits keeps its text
// in the task records, not in this queue, and the rest render when downloaded.
const PREFETCH_BACKLOG = 1_000;

function listenUrl(address: AddressInfo): string {
  const host =
    address.address === '0.0.0.0' || address.address === '::' ? '127.0.0.1' : address.address;
  return `http://${host.includes(':') ? `[${host}]` : host}:${address.port}`;
}

function isFileTooLarge(error: unknown): boolean {
  return (error as { code?: unknown } | null)?.code === 'FST_REQ_FILE_TOO_LARGE';
}

/** The multipart field `file`; other fields and extra files are drained and ignored. */
async function readFilePart(
  req: FastifyRequest,
): Promise<{ bytes: Buffer; tooLarge: boolean } | null> {
  if (!req.isMultipart()) return null;
  let file: { bytes: Buffer; tooLarge: boolean } | null = null;
  try {
    for await (const part of req.parts()) {
      if (part.type !== 'file') continue;
      if (part.fieldname !== 'file' || file) {
        part.file.resume();
        continue;
      }
      file = { bytes: await part.toBuffer(), tooLarge: false };
    }
  } catch (error) {
    if (!isFileTooLarge(error)) throw error;
    return { bytes: Buffer.alloc(0), tooLarge: true };
  }
  return file;
}

function registerApiRoutes(app: FastifyInstance, sim: Simulator, closing: AbortSignal): void {
  app.post(PATHS.submit, async (req, reply) =>
    sendReply(reply, sim.submit(req.headers.authorization, req.body), closing),
  );
  for (const model of SPEECH_MODELS) {
    app.post(speechPath(model), async (req, reply) =>
      sendReply(reply, sim.speech(model, req.headers.authorization, req.body), closing),
    );
  }
  app.post(PATHS.query, async (req, reply) =>
    sendReply(reply, sim.query(req.headers.authorization, req.body), closing),
  );
  app.post(PATHS.cancel, async (req, reply) => sendReply(reply, sim.cancel(req.body), closing));

  app.post(PATHS.upload, async (req, reply) =>
    sendReply(reply, sim.upload(req.headers.authorization, await readFilePart(req)), closing),
  );

  app.get<{ Params: { name: string }; Querystring: { expires?: string; sig?: string } }>(
    '/files/:name',
    async (req, reply) => {
      const result = await sim.file(req.params.name, req.query.expires, req.query.sig);
      if (result.status !== 200) return reply.code(result.status).send();
      return reply.code(200).type(result.contentType).send(result.bytes);
    },
  );

  app.get<{ Params: { name: string } }>('/media/:name', async (req, reply) => {
    const upload = sim.media(req.params.name);
    if (!upload) return reply.code(404).send();
    return reply.code(200).type(upload.contentType).send(upload.bytes);
  });
}

/**
 * Starts a RunningHub simulator. Port 0 (the default in-process) picks a free port; the
 * handle exposes the control surface directly so tests need no HTTP for it.
 */
export async function startSimulator(options: Partial<SimOptions> = {}): Promise<SimulatorHandle> {
  const opts: SimOptions = { ...DEFAULT_SIM_OPTIONS, ...options };
  const audio = await AudioRenderer.start(
    {
      synth: opts.synth,
      format: opts.audioFormat,
      filesDir: opts.filesDir,
      cacheBytes: opts.audioCacheBytes,
      concurrency: opts.synthConcurrency,
      maxBacklog: PREFETCH_BACKLOG,
    },
    opts.logger,
  );
  const sim = new Simulator(opts, audio);
  const closing = new AbortController();
  const app = Fastify({
    ...(opts.logger ? { loggerInstance: opts.logger as FastifyBaseLogger } : { logger: false }),
    // One debug line per request (onResponse below) instead of two info lines.
    logController: new LogController({ disableRequestLogging: true }),
    // Slow-response faults hold requests open; closing must not wait for them.
    forceCloseConnections: true,
    bodyLimit: 4 * 1024 * 1024,
  });
  await app.register(multipart, { limits: { fileSize: opts.maxUploadBytes, files: 2 } });
  app.addHook('preClose', async () => {
    closing.abort();
    await sim.closeCallbacks();
  });
  app.addHook('onClose', async () => audio.close());
  app.addHook('onResponse', async (req, reply) => {
    // Path only: result links carry signatures in their query string.
    req.log.debug(
      { method: req.method, path: req.url.split('?')[0], status: reply.statusCode },
      'sim request',
    );
  });
  registerApiRoutes(app, sim, closing.signal);
  registerControlRoutes(app, sim, opts.controlToken);

  await app.listen({ host: opts.host, port: opts.port });
  const address = app.server.address() as AddressInfo;
  const url = listenUrl(address);
  sim.baseUrl = (opts.publicUrl ?? url).replace(/\/+$/, '');
  let closed: Promise<void> | undefined;

  return {
    url,
    port: address.port,
    stats: () => sim.stats(),
    tasks: () => sim.tasks(),
    task: (taskId) => sim.task(taskId),
    forgetTask: (taskId) => sim.forget(taskId),
    voices: () => sim.voices(),
    forgetVoice: (voiceId) => sim.forgetVoice(voiceId),
    setScenario: (scenario) => sim.setScenario(scenario),
    scenario: () => sim.scenario(),
    reset: () => sim.reset(),
    flushCallbacks: () => sim.flushCallbacks(),
    audio: () => ({ synth: audio.synth.name, format: audio.format, ...audio.stats() }),
    keyLabel,
    close: () => {
      closed ??= app.close();
      return closed;
    },
  };
}
