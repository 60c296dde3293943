import { createTestRedis, type TestRedis } from '@voxline/testing';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { lengthBucket, PollSchedule } from '../src/clone/poll-schedule.js';
import { backoffDelay } from '../src/step.js';

describe('adaptive poll schedule', () => {
  let t: TestRedis;
  let schedule: PollSchedule;
  beforeAll(async () => {
    t = await createTestRedis();
    schedule = new PollSchedule(t.redis, t.prefix, { minMs: 1_000, maxMs: 30_000 });
  });
  afterAll(async () => {
    await t.cleanup();
  });

  it('asks just before the expected end, then backs off geometrically once overdue', () => {
    expect(schedule.nextDelay(20_000, 0)).toBe(18_000);
    expect(schedule.nextDelay(20_000, 15_000)).toBe(3_000);
    expect(schedule.nextDelay(20_000, 40_000)).toBe(6_000);
    expect(schedule.nextDelay(20_000, 1_000_000)).toBe(30_000);
    expect(schedule.nextDelay(500, 0)).toBe(1_000);
  });

  it('polls soon and then backs off while nothing is known', () => {
    expect(schedule.nextDelay(null, 0)).toBe(2_000);
    expect(schedule.nextDelay(null, 60_000)).toBe(9_000);
  });

  it('learns durations per kind, model and text length, shared through Redis', async () => {
    const clone = (model: string, textLength: number) =>
      ({ kind: 'voice_clone', model, textLength }) as const;
    expect(await schedule.estimate(clone('speech-02-hd', 50))).toBeNull();
    await schedule.observe(clone('speech-02-hd', 50), 10_000);
    await schedule.observe(clone('speech-02-hd', 60), 20_000);
    expect(await schedule.estimate(clone('speech-02-hd', 70))).toBe(12_000);
    expect(await schedule.estimate(clone('speech-02-hd', 5_000))).toBeNull();
    expect(await schedule.estimate(clone('speech-2.8-turbo', 50))).toBeNull();
    // A speech line of the same model and length is learnt apart: it builds no voice.
    expect(
      await schedule.estimate({ kind: 'speech', model: 'speech-02-hd', textLength: 70 }),
    ).toBeNull();
    await schedule.observe({ kind: 'speech', model: 'speech-02-hd', textLength: 70 }, 2_000);
    expect(await schedule.estimate({ kind: 'speech', model: 'speech-02-hd', textLength: 70 })).toBe(
      2_000,
    );
    expect(await schedule.estimate(clone('speech-02-hd', 70))).toBe(12_000);
    const other = new PollSchedule(t.redis, t.prefix, { minMs: 1_000, maxMs: 30_000 });
    expect(await other.estimate(clone('speech-02-hd', 70))).toBe(12_000);
  });

  it('buckets text by length', () => {
    expect(lengthBucket(10)).toBe(0);
    expect(lengthBucket(300)).toBe(2);
    expect(lengthBucket(100_000)).toBe(6);
  });
});

describe('retry backoff', () => {
  it('grows exponentially within [ceiling/2, ceiling] and stops at the maximum', () => {
    expect(backoffDelay(1, 1_000, 60_000, () => 0)).toBe(500);
    expect(backoffDelay(1, 1_000, 60_000, () => 1)).toBe(1_000);
    expect(backoffDelay(4, 1_000, 60_000, () => 1)).toBe(8_000);
    expect(backoffDelay(20, 1_000, 60_000, () => 1)).toBe(60_000);
  });
});
