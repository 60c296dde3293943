import { catalog, QUEUE_NAMES } from '@voxline/queue';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ADMIN_TOKEN, type Api, startApi } from './harness.js';

const VIEWER_TOKEN = 'test-viewer-token-0123456789';
const QUEUE = catalog.cloneSubmit.queue;

const basic = (user: string, password: string) =>
  `Basic ${Buffer.from(`${user}:${password}`).toString('base64')}`;

describe('Bull Board at /admin/queues', () => {
  let api: Api;
  beforeAll(async () => {
    api = await startApi({ ADMIN_READONLY_TOKEN: VIEWER_TOKEN });
  });
  afterAll(async () => {
    await api?.close();
  });

  const get = (url: string, authorization?: string) =>
    api.app.inject({ method: 'GET', url, headers: authorization ? { authorization } : {} });
  const put = (url: string, headers: Record<string, string>) =>
    api.app.inject({ method: 'PUT', url, headers });

  async function boardQueues(authorization: string) {
    const res = await get('/admin/queues/api/queues', authorization);
    expect(res.statusCode).toBe(200);
    return res.json().queues as Array<{
      name: string;
      readOnlyMode: boolean;
      allowRetries: boolean;
    }>;
  }

  it('asks a browser for a password, and refuses wrong or misplaced credentials', async () => {
    for (const authorization of [
      undefined,
      `Bearer ${ADMIN_TOKEN}x`,
      basic('admin', 'wrong-wrong-wrong-wrong'),
      basic('viewer', ADMIN_TOKEN), // the admin token under the viewer's name
      basic('admin', VIEWER_TOKEN), // and the other way round
      basic('root', ADMIN_TOKEN),
    ]) {
      for (const url of [
        '/admin/queues',
        '/admin/queues/api/queues',
        '/admin/queues/static/favicon-32x32.png',
      ]) {
        const res = await get(url, authorization);
        expect(res.statusCode, `${url} ${authorization}`).toBe(401);
        expect(res.headers['www-authenticate']).toBe('Basic realm="voxline", charset="UTF-8"');
        expect(res.json().error.code).toBe('unauthorized');
      }
    }
  });

  it('serves the full board, with every queue of the registry, to ADMIN_TOKEN (Basic or Bearer)', async () => {
    for (const authorization of [basic('admin', ADMIN_TOKEN), `Bearer ${ADMIN_TOKEN}`]) {
      const page = await get('/admin/queues', authorization);
      expect(page.statusCode).toBe(200);
      expect(page.headers['content-type']).toMatch(/text\/html/);
      expect(page.body).toContain('<base href="/admin/queues/" />');
      expect(page.body).toContain('<title>voxline</title>');
      // Never framed by another site, never cached.
      expect(page.headers['x-frame-options']).toBe('DENY');
      expect(page.headers['cache-control']).toBe('no-store');
      expect((await get('/admin/queues/static/favicon-32x32.png', authorization)).statusCode).toBe(
        200,
      );

      const queues = await boardQueues(authorization);
      expect(queues.map((q) => q.name).sort()).toEqual([...QUEUE_NAMES].sort());
      expect(queues.every((q) => !q.readOnlyMode && q.allowRetries)).toBe(true);
    }
  });

  it('serves the read-only board to ADMIN_READONLY_TOKEN at the same URL', async () => {
    for (const authorization of [basic('viewer', VIEWER_TOKEN), `Bearer ${VIEWER_TOKEN}`]) {
      const page = await get('/admin/queues', authorization);
      expect(page.statusCode).toBe(200);
      expect(page.body).toContain('<title>voxline (read-only)</title>');
      const queues = await boardQueues(authorization);
      expect(queues.map((q) => q.name).sort()).toEqual([...QUEUE_NAMES].sort());
      expect(queues.every((q) => q.readOnlyMode && !q.allowRetries)).toBe(true);
    }
  });

  it('refuses every write of the read-only credential, and the admin routes too', async () => {
    for (const url of [
      `/admin/queues/api/queues/${QUEUE}/pause`,
      `/admin/queues/api/queues/${QUEUE}/clean/completed`,
      `/admin/queues/api/queues/${QUEUE}/some-job/retry`,
      '/admin/queues/api/queues/pause',
    ]) {
      const res = await put(url, { authorization: `Bearer ${VIEWER_TOKEN}` });
      expect(res.statusCode, url).toBe(403);
      expect(res.json().error.code).toBe('forbidden');
    }
    expect(await api.queues.cloneSubmit.isPaused()).toBe(false);
    const tenant = await api.request('POST', '/admin/tenants', {
      body: { name: 'x' },
      headers: { authorization: basic('viewer', VIEWER_TOKEN) },
    });
    expect(tenant.statusCode).toBe(403);
  });

  it('refuses a cross-site write even with the admin credential (CSRF)', async () => {
    const authorization = basic('admin', ADMIN_TOKEN);
    const url = `/admin/queues/api/queues/${QUEUE}/pause`;
    const forged: Array<Record<string, string>> = [
      { 'sec-fetch-site': 'cross-site' },
      { 'sec-fetch-site': 'same-site' },
      { origin: 'https://evil.example' },
      { origin: 'null' },
      { origin: 'https://voxline.example.evil.example' },
    ];
    for (const headers of forged) {
      const res = await put(url, { authorization, ...headers });
      expect(res.statusCode, JSON.stringify(headers)).toBe(403);
      expect(res.json().error.code).toBe('forbidden');
    }
    const forgedAdd = await api.app.inject({
      method: 'POST',
      url: `/admin/queues/api/queues/${QUEUE}/add`,
      headers: { authorization, origin: 'https://evil.example', 'content-type': 'text/plain' },
      payload: '{"name":"forged","data":{}}',
    });
    expect(forgedAdd.statusCode).toBe(403);
    expect(await api.queues.cloneSubmit.isPaused()).toBe(false);
    expect(await api.queues.cloneSubmit.count()).toBe(0);

    // Reading across sites is harmless (and is how a bookmark or a link opens the board).
    expect(
      (
        await api.app.inject({
          method: 'GET',
          url: '/admin/queues/api/queues',
          headers: { authorization, 'sec-fetch-site': 'cross-site' },
        })
      ).statusCode,
    ).toBe(200);
  });

  it("lets the board's own page, and scripts holding the token, change queues", async () => {
    const url = `/admin/queues/api/queues/${QUEUE}`;
    const sameOrigin = await put(`${url}/pause`, {
      authorization: basic('admin', ADMIN_TOKEN),
      host: 'voxline.example:3000',
      origin: 'https://voxline.example:3000',
      'sec-fetch-site': 'same-origin',
    });
    expect(sameOrigin.statusCode).toBe(200);
    expect(await api.queues.cloneSubmit.isPaused()).toBe(true);
    // A browser too old for Sec-Fetch-Site is judged by Origin against Host.
    const oldBrowser = await put(`${url}/resume`, {
      authorization: basic('admin', ADMIN_TOKEN),
      host: 'voxline.example',
      origin: 'https://voxline.example:443',
    });
    expect(oldBrowser.statusCode).toBe(200);
    await api.queues.cloneSubmit.pause();
    // curl and scripts send neither Origin nor Sec-Fetch-Site.
    const script = await put(`${url}/resume`, { authorization: `Bearer ${ADMIN_TOKEN}` });
    expect(script.statusCode).toBe(200);
    expect(await api.queues.cloneSubmit.isPaused()).toBe(false);
  });
});

describe('Bull Board without a read-only credential configured', () => {
  let api: Api;
  beforeAll(async () => {
    api = await startApi();
  });
  afterAll(async () => {
    await api?.close();
  });

  it('has only the full board, for ADMIN_TOKEN', async () => {
    const viewer = await api.app.inject({
      method: 'GET',
      url: '/admin/queues',
      headers: { authorization: basic('viewer', VIEWER_TOKEN) },
    });
    expect(viewer.statusCode).toBe(401);
    const admin = await api.app.inject({
      method: 'GET',
      url: '/admin/queues/api/queues',
      headers: { authorization: `Bearer ${ADMIN_TOKEN}` },
    });
    expect(admin.statusCode).toBe(200);
  });
});
