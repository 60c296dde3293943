import type { CloneJob } from '@voxline/db';
import type { RedisClient } from '@voxline/queue';

/**
 * When to query a task next. Official clients poll every 2-5 s whatever the task; voxline learns
 * how long tasks of a kind, model and text length take (a voice clone and a speech line of the
 * same model differ: the clone first builds the voice) and asks close to when the task should be
 * done, then more often if it is late, within [min, max]. Fewer queries and less lag than a
 * fixed interval. The estimates live in Redis so every worker process shares them.
 */

// Text length buckets: task time grows with the text to speak.
const BUCKETS = [80, 200, 500, 1_000, 2_000, 5_000];
// Weight of the newest observation in the moving average.
const ALPHA = 0.2;
// How early the first query goes out, as a share of the expected duration: a little early costs
// one query, a little late costs lag on every task.
const FIRST_POLL_SHARE = 0.9;
// Once a task is overdue, the next query comes after this share of its age (geometric backoff).
const OVERDUE_SHARE = 0.15;

export function lengthBucket(textLength: number): number {
  const index = BUCKETS.findIndex((limit) => textLength <= limit);
  return index === -1 ? BUCKETS.length : index;
}

/** What a task's duration is learnt by. */
export interface TaskShape {
  kind: CloneJob['kind'];
  model: string;
  textLength: number;
}

export function taskShape(job: Pick<CloneJob, 'kind' | 'request'>): TaskShape {
  return { kind: job.kind, model: job.request.model, textLength: job.request.text.length };
}

/** Tasks of one kind, model and length bucket share an estimate: this names it. */
export function shapeKey(task: TaskShape): string {
  return `${task.kind}|${task.model}|${lengthBucket(task.textLength)}`;
}

export interface ScheduleBounds {
  minMs: number;
  maxMs: number;
}

export class PollSchedule {
  private readonly key: string;

  constructor(
    private readonly redis: RedisClient,
    prefix: string,
    private readonly bounds: ScheduleBounds,
  ) {
    this.key = `${prefix}:task-durations`;
  }

  private field(task: TaskShape): string {
    return shapeKey(task);
  }

  /** The expected task duration, or null before anything was observed. */
  async estimate(task: TaskShape): Promise<number | null> {
    const value = await this.redis.hget(this.key, this.field(task));
    return value === null ? null : Number(value);
  }

  /** Folds one observed duration into the moving average for its kind, model and length. */
  async observe(task: TaskShape, durationMs: number): Promise<void> {
    const field = this.field(task);
    const current = await this.redis.hget(this.key, field);
    const next = current === null ? durationMs : Number(current) * (1 - ALPHA) + durationMs * ALPHA;
    // A lost race between two workers loses one observation: acceptable for an estimate.
    await this.redis.hset(this.key, field, String(Math.round(next)));
  }

  /** Delay from now until the next query of a task submitted `elapsedMs` ago. */
  nextDelay(estimateMs: number | null, elapsedMs: number): number {
    const { minMs, maxMs } = this.bounds;
    const clamp = (ms: number) => Math.min(maxMs, Math.max(minMs, ms));
    if (estimateMs === null) return clamp(Math.max(minMs * 2, elapsedMs * OVERDUE_SHARE));
    const expectedAt = estimateMs * FIRST_POLL_SHARE;
    if (elapsedMs < expectedAt) return clamp(expectedAt - elapsedMs);
    return clamp(elapsedMs * OVERDUE_SHARE);
  }
}
