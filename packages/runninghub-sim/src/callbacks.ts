import type { Logger } from '@voxline/logger';
import { callbackBody } from './callback-body.js';
import { MinHeap } from './min-heap.js';
import { finishedAt, type SimTask } from './tasks.js';

/** What the scenario may change while the simulator runs. */
export interface CallbackSettings {
  /** How late a `callbackLate` fault without its own delay sends. */
  lateMs: number;
  /** Sends of one callback at most, the first included. */
  attempts: number;
  /** The wait before the second send; it doubles for each later one. */
  backoffMs: number;
  /** A receiver that has not answered by then has failed this attempt. */
  timeoutMs: number;
}

export interface CallbackStats {
  /** Callback requests made: every attempt, duplicates included. */
  sent: number;
  /** Of those, answered 2xx. */
  delivered: number;
  /** Of those, answered otherwise (redirects too), timed out or never connected. */
  failed: number;
  /** Callbacks given up after their last attempt failed. */
  abandoned: number;
  /** Callbacks a `callbackLost` fault dropped, counted when their task ended. */
  lost: number;
  /** Sends waiting for their time (first sends, retries, late and duplicate ones). */
  pending: number;
  /** Callbacks never scheduled because `pending` was at its cap (`maxTasks`). */
  dropped: number;
}

interface Job {
  dueAt: number;
  /** Order of scheduling: among sends due at once, the first scheduled goes first. */
  seq: number;
  task: SimTask;
  /** The end this callback announces; a task that ended otherwise (cancelled first) skips it. */
  endsAt: number;
  attempt: number;
  lost: boolean;
}

export interface CallbackSchedulerOptions {
  /** The simulator's clock: a send is due by it, and its body is what a query says by it. */
  now: () => number;
  settings: () => CallbackSettings;
  /** The body a query for the task would get at `now`. */
  queryBody: (task: SimTask, now: number) => Record<string, unknown>;
  maxPending: number;
  /**
   * false: nothing is sent but by flush(), for a clock a test moves by hand (a timer armed on
   * real time would fire at moments the test does not control).
   */
  timers: boolean;
  logger: Logger | null;
}

// Callback requests in flight at once; later ones wait in the heap. Enough for a bench's burst
// of task ends, few enough that a stalled receiver does not hold thousands of sockets.
const MAX_CONCURRENT = 64;
// The longest the timer sleeps: a clock that jumps ahead (the bench's offset) is caught up
// within this, flush() or not.
const MAX_TIMER_MS = 1_000;
const TIMED_OUT = Symbol('callback timed out');
const USER_AGENT = 'voxline-runninghub-sim';

const zero = (): Omit<CallbackStats, 'pending'> => ({
  sent: 0,
  delivered: 0,
  failed: 0,
  abandoned: 0,
  lost: 0,
  dropped: 0,
});

/**
 * Sends each task's callback when it ends. Task status is read off the clock (nothing runs per
 * task), so the ends to announce wait in one min-heap by due time, behind a single timer armed
 * for the earliest; a timer that fires before the clock says the send is due re-arms. A clock
 * that jumps (a bench's offset) is caught up by `flush()`, which sends what is due now; with
 * `timers: false` only `flush()` sends.
 */
export class CallbackScheduler {
  readonly #opts: CallbackSchedulerOptions;
  readonly #heap = new MinHeap<Job>(
    (a, b) => a.dueAt < b.dueAt || (a.dueAt === b.dueAt && a.seq < b.seq),
  );
  readonly #active = new Set<Promise<void>>();
  #seq = 0;
  #sentEver = 0;
  #timer: NodeJS.Timeout | null = null;
  /** The due time the timer is armed for, on the simulator's clock. */
  #timerDue = Number.POSITIVE_INFINITY;
  // One per send in flight, so that clear() and close() can cut them.
  readonly #sending = new Set<AbortController>();
  // Bumped by clear() and close(): a send that started before must not count or retry.
  #generation = 0;
  #closed = false;
  #stats = zero();

  constructor(options: CallbackSchedulerOptions) {
    this.#opts = options;
  }

  /** Schedules the callback of a task with a webhook, announcing its end at `endsAt`. */
  taskEnds(task: SimTask, endsAt: number): void {
    const webhook = task.webhook;
    if (!webhook || this.#closed) return;
    const fault = webhook.fault;
    const late =
      fault?.kind === 'callbackLate' ? (fault.delayMs ?? this.#opts.settings().lateMs) : 0;
    const first = { task, endsAt, attempt: 1, lost: fault?.kind === 'callbackLost' };
    this.#push({ ...first, dueAt: endsAt + late });
    // RunningHub re-sends on its own; a duplicate is a second first send, not a retry.
    if (fault?.kind === 'callbackDuplicate') {
      this.#push({ ...first, dueAt: endsAt + (fault.delayMs ?? 0) });
    }
    if (this.#opts.timers) this.#pump();
  }

  /**
   * Sends every callback due by the simulator's clock now (retries included) and waits for the
   * answers; resolves with the number of requests it sent. With a clock moved by hand, call it
   * after moving the clock; later retries wait for the clock to pass their backoff.
   */
  async flush(): Promise<number> {
    const before = this.#sentEver;
    for (;;) {
      this.#pump();
      if (this.#active.size === 0) break;
      await Promise.race(this.#active);
    }
    return this.#sentEver - before;
  }

  stats(): CallbackStats {
    return { ...this.#stats, pending: this.#heap.size };
  }

  /** Drops every pending send and the counts, and cuts sends in flight (reset). */
  clear(): void {
    this.#cut();
    this.#stats = zero();
  }

  /** Stops for good: nothing pending, sends in flight cut and settled. */
  async close(): Promise<void> {
    this.#closed = true;
    this.#cut();
    await Promise.allSettled([...this.#active]);
  }

  #cut(): void {
    this.#generation++;
    for (const controller of this.#sending) controller.abort();
    this.#heap.clear();
    this.#disarm();
  }

  #push(job: Omit<Job, 'seq'>): void {
    if (this.#heap.size >= this.#opts.maxPending) {
      this.#stats.dropped++;
      return;
    }
    this.#heap.push({ ...job, seq: this.#seq++ });
  }

  /** Starts every send that is due, as far as MAX_CONCURRENT allows, then re-arms. */
  #pump(): void {
    if (this.#closed) return;
    const now = this.#opts.now();
    for (;;) {
      const next = this.#heap.peek();
      if (!next || next.dueAt > now || this.#active.size >= MAX_CONCURRENT) break;
      this.#heap.pop();
      if (next.attempt === 1 && finishedAt(next.task, now) !== next.endsAt) continue;
      if (next.lost) {
        this.#stats.lost++;
        continue;
      }
      const sending: Promise<void> = this.#send(next)
        .catch((error: unknown) => this.#opts.logger?.error({ err: error }, 'sim callback broke'))
        .finally(() => {
          this.#active.delete(sending);
          if (this.#opts.timers) this.#pump();
        });
      this.#active.add(sending);
    }
    this.#arm(now);
  }

  #arm(now: number): void {
    const next = this.#heap.peek();
    // Nothing left, or due and waiting for a free place: a finishing send pumps again.
    if (!this.#opts.timers || !next || next.dueAt <= now) {
      this.#disarm();
      return;
    }
    if (this.#timer && this.#timerDue <= next.dueAt) return;
    this.#disarm();
    this.#timerDue = next.dueAt;
    this.#timer = setTimeout(
      () => {
        this.#timer = null;
        this.#timerDue = Number.POSITIVE_INFINITY;
        this.#pump();
      },
      Math.min(MAX_TIMER_MS, Math.max(1, next.dueAt - now)),
    );
    // The server keeps the process alive while it runs; a pending callback must not.
    this.#timer.unref();
  }

  #disarm(): void {
    if (this.#timer) clearTimeout(this.#timer);
    this.#timer = null;
    this.#timerDue = Number.POSITIVE_INFINITY;
  }

  async #send(job: Job): Promise<void> {
    const webhook = job.task.webhook;
    if (!webhook) return;
    const generation = this.#generation;
    const { attempts, backoffMs, timeoutMs } = this.#opts.settings();
    const now = this.#opts.now();
    const body = callbackBody(
      job.task.taskId,
      this.#opts.queryBody(job.task, now),
      webhook.eventData,
    );
    this.#stats.sent++;
    this.#sentEver++;
    let answer: number | 'timeout' | 'network';
    // One controller for the timeout and for cut(), not AbortSignal.any on a long-lived
    // signal: each send is let go of when it ends.
    const controller = new AbortController();
    const timer = setTimeout(() => controller.abort(TIMED_OUT), timeoutMs);
    this.#sending.add(controller);
    try {
      const res = await fetch(webhook.url, {
        method: 'POST',
        headers: { 'content-type': 'application/json', 'user-agent': USER_AGENT },
        body,
        // A redirect is not an answer: RunningHub would not follow one either (not documented).
        redirect: 'manual',
        signal: controller.signal,
      });
      answer = res.status;
      await res.body?.cancel().catch(() => undefined);
    } catch {
      answer = controller.signal.reason === TIMED_OUT ? 'timeout' : 'network';
    } finally {
      clearTimeout(timer);
      this.#sending.delete(controller);
    }
    if (generation !== this.#generation) return;
    if (typeof answer === 'number' && answer >= 200 && answer < 300) {
      this.#stats.delivered++;
      return;
    }
    this.#stats.failed++;
    // The URL carries the receiver's per-task token: never logged.
    this.#opts.logger?.debug(
      { taskId: job.task.taskId, attempt: job.attempt, answer },
      'sim callback failed',
    );
    if (job.attempt >= attempts) {
      this.#stats.abandoned++;
      return;
    }
    const backoff = backoffMs * 2 ** (job.attempt - 1);
    this.#push({ ...job, attempt: job.attempt + 1, dueAt: this.#opts.now() + backoff });
  }
}
