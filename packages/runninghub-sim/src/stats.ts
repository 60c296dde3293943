import { createHash } from 'node:crypto';
import { Billing } from './billing.js';
import type { CallbackStats } from './callbacks.js';
import type { SimTask } from './tasks.js';

export interface SimStats {
  /** Submit requests that reached the simulator, whatever their answer. */
  submits: number;
  /** Tasks created (what upstream would bill). */
  accepted: number;
  /** Of those, voice clones (the voice-clone endpoint). */
  cloneSubmits: number;
  /** Of those, speech tasks (any model's speech endpoint). */
  speechSubmits: number;
  /**
   * CNY upstream billed, per kind: the sum of `usage.consumeMoney` of the tasks that ended
   * SUCCESS, for checking a client's own accounting against.
   */
  billed: { voiceClone: number; speech: number };
  /** Submits answered with an errorCode, by code (421 over the limit, key errors, markers...). */
  rejected: Record<string, number>;
  /** Accepted submits whose (key, body) had been accepted before: each one paid twice. */
  duplicateSubmissions: number;
  /** Submit requests whose (key, body) had been sent before, accepted or not. */
  duplicateRequests: number;
  queries: {
    total: number;
    /** Queries naming a task the key does not have (1004) or an unreadable id (1007). */
    unknown: number;
    perTask: { max: number; mean: number };
  };
  inFlight: {
    /** Tasks not finished right now, per key label. */
    current: Record<string, number>;
    /** The most tasks one key had in flight at once, per key label. */
    max: Record<string, number>;
  };
  tasksByStatus: Record<string, number>;
  /** Faults injected (scripted or drawn), by kind: http502, code1003, truncatedJson... */
  errorsInjected: Record<string, number>;
  /**
   * Submits that created a task and whose answer was then damaged (malformed or truncated
   * JSON) or delayed (slowResponse): the client may not learn that it was accepted. A client
   * that resubmits pays at most once more for each; more extra tasks than this is its own doing.
   */
  ambiguousSubmits: number;
  uploads: number;
  cancels: number;
  fileDownloads: number;
  /** Callbacks to submits' webhookUrls: sent, delivered, failed, lost... (see callbacks.ts). */
  callbacks: CallbackStats;
}

// Fingerprints of bodies already seen; the oldest are forgotten past this many (about
// 20 MB at most for both sets).
const MAX_FINGERPRINTS = 200_000;

function canonical(value: unknown): string {
  if (Array.isArray(value)) return `[${value.map(canonical).join(',')}]`;
  if (value && typeof value === 'object') {
    const entries = Object.entries(value as Record<string, unknown>)
      .filter(([, v]) => v !== undefined)
      .sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0));
    return `{${entries.map(([k, v]) => `${JSON.stringify(k)}:${canonical(v)}`).join(',')}}`;
  }
  return JSON.stringify(value) ?? 'null';
}

/** The identity of a submit: same key and same body (field order does not matter). */
export function fingerprint(keyLabel: string, body: unknown): string {
  return createHash('sha256')
    .update(keyLabel)
    .update('\n')
    .update(canonical(body))
    .digest()
    .subarray(0, 16)
    .toString('base64url');
}

function remember(set: Set<string>, value: string): boolean {
  if (set.has(value)) return true;
  set.add(value);
  if (set.size > MAX_FINGERPRINTS) {
    const oldest = set.values().next().value;
    if (oldest !== undefined) set.delete(oldest);
  }
  return false;
}

function bump(counts: Record<string, number>, key: string, by = 1): void {
  counts[key] = (counts[key] ?? 0) + by;
}

/** Counters kept as running totals, so they survive the eviction of old task records. */
export class StatsCollector {
  submits = 0;
  accepted = 0;
  cloneSubmits = 0;
  speechSubmits = 0;
  duplicateSubmissions = 0;
  duplicateRequests = 0;
  queries = 0;
  unknownQueries = 0;
  queriesOnTasks = 0;
  maxQueriesPerTask = 0;
  uploads = 0;
  cancels = 0;
  fileDownloads = 0;
  ambiguousSubmits = 0;
  readonly rejected: Record<string, number> = {};
  readonly errorsInjected: Record<string, number> = {};
  readonly maxInFlight: Record<string, number> = {};
  readonly #requested = new Set<string>();
  readonly #acceptedBodies = new Set<string>();
  readonly #billing = new Billing();

  submitted(print: string): void {
    this.submits++;
    if (remember(this.#requested, print)) this.duplicateRequests++;
  }

  /** A task created; `billable` when it may succeed (no fate of failing, it finishes). */
  acceptedTask(print: string, task: SimTask, billable: boolean, inFlightNow: number): void {
    const keyLabel = task.keyLabel;
    this.accepted++;
    if (task.kind === 'speech') this.speechSubmits++;
    else this.cloneSubmits++;
    if (billable) this.#billing.add(task);
    if (remember(this.#acceptedBodies, print)) this.duplicateSubmissions++;
    this.maxInFlight[keyLabel] = Math.max(this.maxInFlight[keyLabel] ?? 0, inFlightNow);
  }

  rejectedSubmit(code: string): void {
    bump(this.rejected, code);
  }

  injected(label: string): void {
    bump(this.errorsInjected, label);
  }

  queried(taskQueries: number | null): void {
    this.queries++;
    if (taskQueries === null) {
      this.unknownQueries++;
      return;
    }
    this.queriesOnTasks++;
    this.maxQueriesPerTask = Math.max(this.maxQueriesPerTask, taskQueries);
  }

  snapshot(
    current: Record<string, number>,
    byStatus: Record<string, number>,
    now: number,
    callbacks: CallbackStats,
  ): SimStats {
    return {
      submits: this.submits,
      accepted: this.accepted,
      cloneSubmits: this.cloneSubmits,
      speechSubmits: this.speechSubmits,
      billed: this.#billing.billed(now),
      rejected: { ...this.rejected },
      duplicateSubmissions: this.duplicateSubmissions,
      duplicateRequests: this.duplicateRequests,
      queries: {
        total: this.queries,
        unknown: this.unknownQueries,
        perTask: {
          max: this.maxQueriesPerTask,
          mean: this.accepted === 0 ? 0 : this.queriesOnTasks / this.accepted,
        },
      },
      inFlight: { current, max: { ...this.maxInFlight } },
      tasksByStatus: byStatus,
      errorsInjected: { ...this.errorsInjected },
      ambiguousSubmits: this.ambiguousSubmits,
      uploads: this.uploads,
      cancels: this.cancels,
      fileDownloads: this.fileDownloads,
      callbacks,
    };
  }
}
