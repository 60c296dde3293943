import { existsSync } from 'node:fs';
import { mkdir } from 'node:fs/promises';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { catalog, createRedis, QUEUE_NAMES } from '@voxline/queue';
import { Worker } from 'bullmq';
import type { Redis } from 'ioredis';
import { type Browser, type BrowserContext, chromium, type Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ADMIN_TOKEN, type Api, startApi } from './harness.js';

/**
 * Bull Board as a person sees it: Debian's Chromium, driven by playwright-core, against the
 * API listening on a real port. Screenshots go to test-output/ at the repository root.
 */

const CHROMIUM = '/usr/bin/chromium';
const VIEWER_TOKEN = 'test-viewer-token-0123456789';
const OUTPUT = fileURLToPath(new URL('../../../test-output/', import.meta.url));
const JOB_ID = 'submit-browser-test-1';

// The flags Chromium needs as root in a sandbox with no network: without the background
// networking ones it keeps trying (and failing) to reach Google's hosts.
const CHROMIUM_ARGS = [
  '--headless',
  '--no-sandbox',
  '--disable-gpu',
  '--disable-quic',
  '--no-first-run',
  '--disable-background-networking',
  '--disable-component-update',
  '--disable-sync',
];

describe('Bull Board in a browser', () => {
  let api: Api;
  let base: string;
  let browser: Browser;
  let workerRedis: Redis;

  beforeAll(async () => {
    if (!existsSync(CHROMIUM)) {
      throw new Error(
        `${CHROMIUM} not found: install Debian's Chromium (apt-get install -y chromium), as .ci/run does`,
      );
    }
    api = await startApi({ ADMIN_READONLY_TOKEN: VIEWER_TOKEN });
    base = await api.app.listen({ host: '127.0.0.1', port: 0 });

    // A finished clone job, completed by a tiny worker of our own on the same queue.
    workerRedis = createRedis(api.config.REDIS_URL, 'worker');
    const worker = new Worker(catalog.cloneSubmit.queue, async () => ({ submitted: true }), {
      connection: workerRedis,
      prefix: api.config.QUEUE_PREFIX,
    });
    try {
      const completed = new Promise<void>((resolve, reject) => {
        worker.on('completed', (job) => job.id === JOB_ID && resolve());
        worker.on('failed', (_job, error) => reject(error));
      });
      await api.queues.cloneSubmit.add(
        catalog.cloneSubmit.job,
        {
          cloneJobId: '6f9619ff-8b86-4011-b42d-00c04fc964ff',
          tenantId: '0b5e1c3a-4d2f-4e8a-9c1b-2a3d4e5f6a7b',
          run: 1,
        },
        { jobId: JOB_ID },
      );
      await completed;
    } finally {
      await worker.close();
    }

    await mkdir(OUTPUT, { recursive: true });
    // launch() starts Chromium on a fresh temporary profile (--user-data-dir) of its own and
    // removes it on close; each context below is a clean incognito-like session within it.
    browser = await chromium.launch({ executablePath: CHROMIUM, args: CHROMIUM_ARGS });
  });

  afterAll(async () => {
    await browser?.close();
    workerRedis?.disconnect();
    await api?.close();
  });

  async function context(credentials?: { username: string; password: string }) {
    const ctx = await browser.newContext({
      viewport: { width: 1400, height: 900 },
      ...(credentials ? { httpCredentials: credentials } : {}),
    });
    // Only this machine exists here: anything else the page asks for (the board's web font)
    // fails at once instead of waiting for a network that is not there.
    await ctx.route(
      (url) => url.hostname !== '127.0.0.1' && url.hostname !== 'localhost',
      (route) => route.abort(),
    );
    return ctx;
  }

  async function openCompleted(ctx: BrowserContext): Promise<Page> {
    const page = await ctx.newPage();
    const response = await page.goto(
      `${base}/admin/queues/queue/${catalog.cloneSubmit.queue}?status=completed`,
    );
    expect(response?.status()).toBe(200);
    await page.getByText(JOB_ID).first().waitFor();
    return page;
  }

  it('shows every queue and the completed job to the admin, and takes a screenshot', async () => {
    const ctx = await context({ username: 'admin', password: ADMIN_TOKEN });
    try {
      const page = await openCompleted(ctx);
      for (const name of QUEUE_NAMES) {
        await page.getByRole('link', { name, exact: false }).first().waitFor();
      }
      expect(await page.title()).toBe('voxline');
      // An admin may act on a finished job.
      expect(await page.getByRole('button', { name: /clean|retry/i }).count()).toBeGreaterThan(0);
      await page.screenshot({ path: join(OUTPUT, 'bull-board.png'), fullPage: true });

      // A page of another site, open in the same browser, forges a write: a "simple" POST
      // that needs no CORS preflight, to which the browser may attach the Basic credential.
      const hostile = await ctx.newPage();
      await hostile.goto(`${base.replace('127.0.0.1', 'localhost')}/healthz`);
      const addUrl = `${base}/admin/queues/api/queues/${catalog.cloneSubmit.queue}/add`;
      const forged = hostile.waitForResponse(addUrl);
      await hostile.evaluate(async (url) => {
        await fetch(url, {
          method: 'POST',
          mode: 'no-cors',
          credentials: 'include',
          headers: { 'content-type': 'text/plain' },
          body: JSON.stringify({ name: 'forged', data: {} }),
        });
      }, addUrl);
      expect((await forged).status()).toBe(403);
      expect(await api.queues.cloneSubmit.getJobCounts()).toMatchObject({
        completed: 1,
        waiting: 0,
      });
    } finally {
      await ctx.close();
    }
  });

  it('answers 401 with a Basic challenge to a browser without the credential', async () => {
    const ctx = await context();
    try {
      const page = await ctx.newPage();
      const url = `${base}/admin/queues`;
      const challenged = page.waitForResponse(url);
      // Headless Chromium has no one to type a password: it gives up on the challenge, and the
      // navigation fails with that reason after the 401 arrived.
      const navigation = await page.goto(url).then(
        () => null,
        (error: Error) => error,
      );
      expect(navigation?.message).toMatch(/ERR_INVALID_AUTH_CREDENTIALS/);
      const response = await challenged;
      expect(response.status()).toBe(401);
      expect(await response.headerValue('www-authenticate')).toBe(
        'Basic realm="voxline", charset="UTF-8"',
      );
      expect(await response.text()).not.toContain(catalog.cloneSubmit.queue);
    } finally {
      await ctx.close();
    }
  });

  it('gives the read-only credential the board without retry or clean', async () => {
    const ctx = await context({ username: 'viewer', password: VIEWER_TOKEN });
    try {
      const page = await openCompleted(ctx);
      expect(await page.title()).toBe('voxline (read-only)');
      for (const name of QUEUE_NAMES) {
        await page.getByRole('link', { name, exact: false }).first().waitFor();
      }
      expect(await page.getByRole('button', { name: /clean|retry|promote/i }).count()).toBe(0);
      await page.screenshot({ path: join(OUTPUT, 'bull-board-readonly.png'), fullPage: true });

      // And the API refuses a write sent from the page itself.
      const status = await page.evaluate(async (jobId) => {
        const res = await fetch(`api/queues/clone-submit/${jobId}/retry`, {
          method: 'PUT',
        });
        return res.status;
      }, JOB_ID);
      expect(status).toBe(403);
      expect(await api.queues.cloneSubmit.getJobState(JOB_ID)).toBe('completed');
    } finally {
      await ctx.close();
    }
  });
});
