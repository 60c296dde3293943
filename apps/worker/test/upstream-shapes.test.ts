import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { audioResults } from '@voxline/db';
import { assertBuilt, freePort, type NodeProcess, startApi } from '@voxline/testing';
import { inArray } from 'drizzle-orm';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { fastEnv, type Harness, startHarness } from './harness.js';

const LINES = 30;

describe('a batch against an upstream that varies the shape of its answers', () => {
  let h: Harness;
  let api: NodeProcess | undefined;
  let apiUrl: string;
  let logDir: string | undefined;

  beforeAll(async () => {
    // The producer API as its own process (built dist): apps do not import each other.
    assertBuilt(['api']);
    h = await startHarness({ sim: { shapeVariety: 0.5, seed: 11 } });
    const port = await freePort();
    apiUrl = `http://127.0.0.1:${port}`;
    logDir = await mkdtemp(join(tmpdir(), 'voxline-upstream-shapes-'));
    api = await startApi({
      name: 'api',
      env: {
        ...fastEnv(h.db, h.redis, { HOST: '127.0.0.1', PORT: String(port) }),
        LOG_LEVEL: 'error',
      },
      logFile: join(logDir, 'api.log'),
    });
  });
  afterAll(async () => {
    await api?.stop('SIGTERM');
    await h?.close();
    if (logDir) await rm(logDir, { recursive: true, force: true });
  });

  const get = async (path: string) => {
    const res = await fetch(`${apiUrl}${path}`, {
      headers: { authorization: `Bearer ${h.apiKey}` },
    });
    return { status: res.status, body: (await res.json()) as Record<string, unknown> };
  };

  it('succeeds on every line, and every line reads back through the API', async () => {
    const texts = Array.from(
      { length: LINES },
      (_, i) => `Line ${i}, in whatever shape upstream likes.`,
    );
    const { ids, batchId } = await h.submit(texts, { batch: true });
    const rows = await h.waitTerminal(ids);
    expect(rows.filter((r) => r.status !== 'succeeded').map((r) => r.errorCode)).toEqual([]);

    // The varied shapes reached the store: some usage missing, some usage fields null.
    const stored = await h.db.db
      .select()
      .from(audioResults)
      .where(inArray(audioResults.cloneJobId, ids));
    expect(stored).toHaveLength(LINES);
    expect(stored.some((a) => a.usage === null)).toBe(true);
    expect(stored.some((a) => a.usage && Object.values(a.usage).includes(null))).toBe(true);

    for (const audio of stored) {
      const one = await get(`/v1/clones/${audio.cloneJobId}`);
      expect(one.status, JSON.stringify(one.body)).toBe(200);
      // voxline's stored copy, under the API's own address; upstream's link beside it.
      expect(one.body.audio).toMatchObject({
        url: `${apiUrl}/v1/clones/${audio.cloneJobId}/audio`,
        upstream_url: audio.url,
        type: 'wav',
        sha256: audio.sha256,
      });
      expect((one.body.audio as { usage: unknown }).usage).toEqual(
        audio.usage && {
          consumeMoney: audio.usage.consumeMoney,
          consumeCoins: audio.usage.consumeCoins,
          taskCostTime: audio.usage.taskCostTime,
          thirdPartyConsumeMoney: audio.usage.thirdPartyConsumeMoney,
        },
      );
    }
    const page = await get(`/v1/batches/${batchId}/clones?limit=100`);
    expect(page.status, JSON.stringify(page.body)).toBe(200);
    const data = page.body.data as Array<{ status: string; audio: { url: string } | null }>;
    expect(data).toHaveLength(LINES);
    expect(data.every((line) => line.status === 'succeeded' && line.audio?.url)).toBe(true);
  });
});
