import type { Config } from '@voxline/config';
import { type Database, getUpstreamAccount, openAccountKey } from '@voxline/db';
import type { Metrics } from '@voxline/metrics';
import { DEFAULT_ACCOUNT, type RedisClient, UpstreamSlots } from '@voxline/queue';
import { RunningHubClient } from '@voxline/runninghub';
import type { Queue } from 'bullmq';

// How stale a tenant account's limit may be in a worker process.
const LIMIT_REFRESH_MS = 30_000;

/** One RunningHub account as the worker uses it: its client (its key) and its slots. */
export interface Account {
  name: string;
  client: RunningHubClient;
  slots: UpstreamSlots;
}

export interface AccountsOptions {
  config: Config;
  db: Database;
  redis: RedisClient;
  submitQueue: Queue;
  metrics: Metrics;
  /** The shared account's upstream (RUNNINGHUB_BASE_URL and RUNNINGHUB_API_KEY, or a test's). */
  upstream: { baseUrl: string; apiKey: string };
}

/**
 * The upstream accounts of a worker process: the deployment's shared one, built at start, and
 * tenants' own, built on first use from the sealed key in upstream_accounts and kept for the
 * process's life (a retired account still carries its tasks in flight). A key opened here goes
 * only into its client, which scrubs it from the raw bodies it keeps; it is never logged.
 */
export class UpstreamAccounts {
  readonly shared: Account;
  private readonly options: AccountsOptions;
  private readonly built = new Map<string, Promise<Account>>();
  // When each tenant account's limit was last read.
  private readonly checked = new Map<string, number>();

  constructor(options: AccountsOptions) {
    this.options = options;
    this.shared = this.make(
      DEFAULT_ACCOUNT,
      options.upstream.apiKey,
      options.config.RUNNINGHUB_MAX_IN_FLIGHT,
    );
    this.built.set(DEFAULT_ACCOUNT, Promise.resolve(this.shared));
  }

  /**
   * The account named `name` (a tenant's upstream_accounts.id, or 'default'). A tenant account's
   * limit (runninghub_max_in_flight, changed by the admin API) is read again every
   * LIMIT_REFRESH_MS, in the background: its slots then count against the new limit.
   */
  get(name: string | null): Promise<Account> {
    const key = name ?? DEFAULT_ACCOUNT;
    let account = this.built.get(key);
    if (!account) {
      account = this.open(key);
      // A failed open (Postgres away) is tried again by the next caller.
      account.catch(() => this.built.delete(key));
      this.built.set(key, account);
      this.checked.set(key, Date.now());
    } else if (
      key !== DEFAULT_ACCOUNT &&
      Date.now() - (this.checked.get(key) ?? 0) > LIMIT_REFRESH_MS
    ) {
      this.checked.set(key, Date.now());
      void this.refreshLimit(key, account);
    }
    return account;
  }

  /**
   * The accounts built so far that a tenant's lines may have waited on, other than `except`:
   * the shared one and the tenant's own (current and retired), whose ids name the tenant.
   */
  async tenantAccounts(tenantId: string, except: string): Promise<Account[]> {
    const prefix = `tenant-${tenantId}-`;
    return (await this.all()).filter(
      (a) => a.name !== except && (a.name === DEFAULT_ACCOUNT || a.name.startsWith(prefix)),
    );
  }

  /** The accounts built so far (metrics, the reconciler). */
  async all(): Promise<Account[]> {
    const settled = await Promise.allSettled(this.built.values());
    return settled.flatMap((r) => (r.status === 'fulfilled' ? [r.value] : []));
  }

  async close(): Promise<void> {
    await Promise.all((await this.all()).map((a) => a.client.close()));
  }

  private async refreshLimit(name: string, current: Promise<Account>): Promise<void> {
    try {
      const [account, row] = await Promise.all([
        current,
        getUpstreamAccount(this.options.db, { id: name }),
      ]);
      if (!row || row.maxInFlight === account.slots.limit) return;
      const slots = this.slots(name, row.maxInFlight);
      this.built.set(name, Promise.resolve({ ...account, slots }));
      // A higher limit frees slots nobody released: hand them over now.
      await slots.decide();
    } catch {
      // Kept as it is; the next look reads it again.
      this.checked.delete(name);
    }
  }

  private async open(name: string): Promise<Account> {
    const { config, db } = this.options;
    const row = await getUpstreamAccount(db, { id: name });
    if (!row) throw new Error(`upstream account ${name} does not exist`);
    if (!config.TENANT_KEY_ENCRYPTION_KEY) {
      throw new Error(`upstream account ${name}: TENANT_KEY_ENCRYPTION_KEY is not configured`);
    }
    return this.make(name, openAccountKey(row, config.TENANT_KEY_ENCRYPTION_KEY), row.maxInFlight);
  }

  private make(name: string, apiKey: string, limit: number): Account {
    const { config, metrics, upstream } = this.options;
    const client = new RunningHubClient({
      baseUrl: upstream.baseUrl,
      apiKey,
      connectTimeoutMs: config.RUNNINGHUB_CONNECT_TIMEOUT_MS,
      requestTimeoutMs: config.RUNNINGHUB_REQUEST_TIMEOUT_MS,
      voiceMissingCodes: config.RUNNINGHUB_VOICE_MISSING_CODES,
      onRequest: (info) => {
        metrics.upstreamLatency.observe({ endpoint: info.endpoint }, info.durationMs / 1000);
        metrics.upstreamRequests.inc({
          endpoint: info.endpoint,
          outcome: info.outcome,
          code: info.errorCode ?? '',
        });
      },
    });
    return { name, client, slots: this.slots(name, limit) };
  }

  private slots(name: string, limit: number): UpstreamSlots {
    const { config, redis, submitQueue } = this.options;
    return new UpstreamSlots({
      redis,
      prefix: config.QUEUE_PREFIX,
      account: name,
      limit,
      submitQueue,
      ...(config.FAIR_SHARES
        ? {
            // A grant's lease covers the submit call it was taken for; it must outlast the park's
            // safety delay (with jitter), or a job whose promotion was lost finds no slot.
            fair: {
              grantLeaseMs: Math.max(
                config.RUNNINGHUB_REQUEST_TIMEOUT_MS + config.SLOT_LEASE_MARGIN_MS,
                Math.ceil(config.SLOT_PARK_MS * 1.2) + config.SLOT_LEASE_MARGIN_MS,
              ),
            },
          }
        : {}),
    });
  }
}
