import { randomBytes } from 'node:crypto';
import { mkdir } from 'node:fs/promises';
import { join } from 'node:path';
import { createDb, type DbHandle } from '@voxline/db';
import { createRedis, slotsInUse } from '@voxline/queue';
import { type SimOptions, type SimulatorHandle, startSimulator } from '@voxline/runninghub-sim';
import { freePort } from '@voxline/testing/net';
import { assertBuilt, type NodeProcess, startApi, startWorker } from '@voxline/testing/process';
import type { ScenarioDatabase } from './infra/databases.js';
import { HttpClient, type HttpResponse } from './infra/http.js';

/** Where a scenario runs: how it gets a database and Redis, and where its logs go. */
export interface Environment {
  /** A fresh, migrated database on the shared Postgres server. */
  createDatabase(): Promise<ScenarioDatabase>;
  /** The shared Redis; each stack uses a queue prefix of its own there. */
  redisUrl: string;
  /** A directory for the processes' logs. */
  workDir: string;
  /** Progress lines (the soak runner prints them; tests may stay quiet). */
  progress(message: string): void;
}

export interface StackOptions {
  name: string;
  /** A database of the scenario's own (e.g. on a throwaway cluster); else a fresh one. */
  databaseUrl?: string;
  /** A Redis of the scenario's own; else the shared one. */
  redisUrl?: string;
  sim?: Partial<SimOptions>;
  /** Added to (and overriding) the defaults below. */
  apiEnv?: Record<string, string>;
  workerEnv?: Record<string, string>;
}

export interface Tenant {
  id: string;
  key: string;
  webhookSecret: string;
}

export const AUDIO_URL = 'https://cdn.example.com/voices/narrator.wav';
export const VOICE_ID = 'narrator01';

const SLOT_LIMIT = 6;

/**
 * Settings that make a run take seconds instead of hours, and make recovery observable in a
 * CI run: short locks, polls, backoffs, leases and reconciler grace. Every scenario starts from
 * these; the numbers are the scenario's, not production advice.
 */
function workerDefaults(sim: SimulatorHandle, simKey: string): Record<string, string> {
  return {
    RUNNINGHUB_BASE_URL: sim.url,
    RUNNINGHUB_API_KEY: simKey,
    RUNNINGHUB_MAX_IN_FLIGHT: String(SLOT_LIMIT),
    RUNNINGHUB_CONNECT_TIMEOUT_MS: '1000',
    RUNNINGHUB_REQUEST_TIMEOUT_MS: '5000',
    WORKER_CONCURRENCY: '50',
    JOB_LOCK_MS: '2000',
    POLL_MIN_INTERVAL_MS: '50',
    POLL_MAX_INTERVAL_MS: '500',
    RETRY_BASE_DELAY_MS: '50',
    RETRY_MAX_DELAY_MS: '1000',
    SLOT_WAIT_MS: '50',
    SLOT_PARK_MS: '2000',
    SLOT_LEASE_MARGIN_MS: '2000',
    RECONCILE_INTERVAL_MS: '1000',
    RECONCILE_GRACE_MS: '3000',
    SHUTDOWN_TIMEOUT_MS: '5000',
    WORKER_METRICS_PORT: '0',
    WEBHOOK_ALLOWLIST: 'localhost',
    // 1000x: the spec's 5 s, 5 min, 30 min... become 5 ms, 300 ms, 1.8 s.
    WEBHOOK_SCHEDULE_SCALE: '1000',
    WEBHOOK_TIMEOUT_MS: '2000',
  };
}

/**
 * The system under test on loopback: the API and workers as real processes (built dist, env
 * only), the RunningHub simulator in this process (its task list and statistics are the
 * upstream's bill), a database and a Redis prefix of the stack's own.
 */
export class Stack {
  readonly processes: NodeProcess[] = [];
  /** Every secret the run handed out or configured, by label: none may reach a log. */
  readonly secrets = new Map<string, string>();
  readonly adminToken = `chaos-admin-${randomBytes(12).toString('hex')}`;
  readonly simKey = `chaos-sim-${randomBytes(12).toString('hex')}`;
  readonly prefix = `{chaos-${randomBytes(5).toString('hex')}}`;
  api: NodeProcess | null = null;
  apiPort = 0;
  #http: HttpClient | null = null;
  #workerSeq = 0;
  #apiSeq = 0;
  #closed = false;

  private constructor(
    readonly env: Environment,
    readonly options: StackOptions,
    readonly sim: SimulatorHandle,
    readonly db: DbHandle,
    readonly databaseUrl: string,
    readonly redisUrl: string,
    readonly redis: ReturnType<typeof createRedis>,
    private readonly ownDatabase: ScenarioDatabase | null,
    readonly logDir: string,
  ) {
    this.secrets.set('ADMIN_TOKEN', this.adminToken);
    this.secrets.set('RUNNINGHUB_API_KEY', this.simKey);
  }

  static async start(env: Environment, options: StackOptions): Promise<Stack> {
    assertBuilt();
    const ownDatabase = options.databaseUrl ? null : await env.createDatabase();
    const databaseUrl = options.databaseUrl ?? (ownDatabase as ScenarioDatabase).url;
    const redisUrl = options.redisUrl ?? env.redisUrl;
    const sim = await startSimulator({ maxInFlight: SLOT_LIMIT, ...options.sim });
    const logDir = join(env.workDir, options.name);
    await mkdir(logDir, { recursive: true });
    const db = createDb({ url: databaseUrl, max: 4, applicationName: 'voxline-chaos' });
    // The observer rides out outages like a worker does.
    const redis = createRedis(redisUrl, 'worker');
    return new Stack(env, options, sim, db, databaseUrl, redisUrl, redis, ownDatabase, logDir);
  }

  get http(): HttpClient {
    if (!this.#http) throw new Error('the API is not started');
    return this.#http;
  }

  get apiUrl(): string {
    return `http://127.0.0.1:${this.apiPort}`;
  }

  get workers(): NodeProcess[] {
    return this.processes.filter((p) => p.name.startsWith('worker') && p.running);
  }

  #common(): Record<string, string> {
    return {
      NODE_ENV: 'production',
      DATABASE_URL: this.databaseUrl,
      REDIS_URL: this.redisUrl,
      QUEUE_PREFIX: this.prefix,
      ADMIN_TOKEN: this.adminToken,
      LOG_LEVEL: 'info',
      HOST: '127.0.0.1',
      // The stack's own folder store, removed with its logs, never the working directory's.
      AUDIO_STORE: `file://${join(this.logDir, 'audio')}`,
      // The scenarios drive one tenant hard on purpose: a request limit would turn their load
      // into 429s and measure the limiter instead (tested in apps/api/test/limits.test.ts).
      TENANT_REQUESTS_PER_MINUTE: '1000000',
    };
  }

  /** Starts the API on a free port (the same port on a restart) and waits for /healthz. */
  async startApi(): Promise<NodeProcess> {
    if (!this.apiPort) this.apiPort = await freePort();
    const env = {
      ...this.#common(),
      PORT: String(this.apiPort),
      AUDIO_URL_ALLOWLIST: 'cdn.example.com',
      WEBHOOK_ALLOWLIST: 'localhost',
      ...this.options.apiEnv,
    };
    for (const [name, value] of Object.entries(env)) {
      if (/TOKEN|KEY/.test(name)) this.secrets.set(name, value);
    }
    this.#http ??= new HttpClient(this.apiUrl);
    const seq = ++this.#apiSeq;
    const api = await startApi({
      name: `api-${seq}`,
      env,
      logFile: join(this.logDir, `api-${seq}.log`),
    });
    this.processes.push(api);
    this.api = api;
    return api;
  }

  /** Starts one more worker process and waits until it takes jobs. */
  async startWorker(extraEnv: Record<string, string> = {}): Promise<NodeProcess> {
    const env = {
      ...this.#common(),
      ...workerDefaults(this.sim, this.simKey),
      ...this.options.workerEnv,
      ...extraEnv,
    };
    const seq = ++this.#workerSeq;
    const worker = await startWorker({
      name: `worker-${seq}`,
      env,
      logFile: join(this.logDir, `worker-${seq}.log`),
    });
    this.processes.push(worker);
    return worker;
  }

  /** Creates a tenant through the admin route; its key and secret join the secrets. */
  async tenant(name: string): Promise<Tenant> {
    const res = await this.http.call('POST', '/admin/tenants', {
      body: { name },
      headers: { authorization: `Bearer ${this.adminToken}` },
    });
    if (res.status !== 201) throw new Error(`tenant creation failed: ${res.status} ${res.text}`);
    const body = res.json as { tenant_id: string; api_key: string; webhook_secret: string };
    this.secrets.set(`api key of ${name}`, body.api_key);
    this.secrets.set(`webhook secret of ${name}`, body.webhook_secret);
    return { id: body.tenant_id, key: body.api_key, webhookSecret: body.webhook_secret };
  }

  /**
   * Submits one batch through the API; returns its id once accepted. One clone a line: every
   * line is its own upstream task with its own voice id, which is what the scenarios count
   * (duplicates, attempts) line by line; voices and speech lines are tested in apps/worker.
   */
  async submitBatch(
    tenant: Tenant,
    texts: string[],
    options: { webhookUrl?: string; expect?: number[] } = {},
  ): Promise<{ id: string; response: HttpResponse }> {
    const res = await this.http.call('POST', '/v1/batches', {
      key: tenant.key,
      body: {
        voice: { audio: AUDIO_URL, custom_voice_id: VOICE_ID },
        per_line_clone: true,
        lines: texts.map((text, i) => ({ text, ref: `line-${i}` })),
        ...(options.webhookUrl ? { webhook_url: options.webhookUrl } : {}),
      },
    });
    const expected = options.expect ?? [202];
    if (!expected.includes(res.status)) {
      throw new Error(`batch refused: ${res.status} ${res.text.slice(0, 500)}`);
    }
    return { id: (res.json as { id: string }).id, response: res };
  }

  /** Slots held by live leases in the stack's Redis. */
  slotsInUse(): Promise<number> {
    return slotsInUse(this.redis, this.prefix);
  }

  /** Every line the processes wrote, API and workers, living and dead. */
  logs(): string {
    return this.processes.map((p) => p.output()).join('\n');
  }

  /**
   * The secrets (and their distinctive parts: a key without `vxl_`, a secret without `whsec_`)
   * that appear in any captured log line; empty is the only good answer.
   */
  leakedSecrets(): string[] {
    const logs = this.logs();
    const leaked: string[] = [];
    for (const [label, value] of this.secrets) {
      const forms = [value, value.replace(/^(vxl_|whsec_)/, '')].filter((f) => f.length >= 12);
      if (forms.some((form) => logs.includes(form))) leaked.push(label);
    }
    return leaked;
  }

  async close(): Promise<void> {
    if (this.#closed) return;
    this.#closed = true;
    await Promise.all(this.processes.map((p) => p.stop('SIGKILL')));
    this.#http?.close();
    await this.sim.close();
    if (!this.options.redisUrl) {
      let cursor = '0';
      do {
        const [next, keys] = await this.redis.scan(
          cursor,
          'MATCH',
          `${this.prefix}*`,
          'COUNT',
          1000,
        );
        cursor = next;
        if (keys.length) await this.redis.del(...keys);
      } while (cursor !== '0');
    }
    this.redis.disconnect();
    await this.db.close();
    await this.ownDatabase?.drop();
  }
}
