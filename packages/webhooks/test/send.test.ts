import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { freePort } from '@voxline/testing';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createWebhookDispatcher, parseAllowlist, sendWebhook } from '../src/index.js';

type Handler = (req: IncomingMessage, res: ServerResponse) => void;

describe('sendWebhook', () => {
  let server: Server;
  let base: string;
  const hits: string[] = [];
  const routes: Record<string, Handler> = {
    '/ok': (_req, res) => res.end('thanks'),
    '/redirect': (_req, res) => {
      res.writeHead(302, { location: '/ok' });
      res.end();
    },
    '/big-error': (_req, res) => {
      res.writeHead(500);
      res.end('x'.repeat(10_000));
    },
    '/binary': (_req, res) => {
      res.writeHead(500);
      res.end(Buffer.from([0x62, 0x00, 0x61, 0x64]));
    },
    '/busy': (_req, res) => {
      res.writeHead(429, { 'retry-after': '7' });
      res.end();
    },
    '/hang': () => {},
  };
  const allowLoopback = createWebhookDispatcher({
    allowlist: parseAllowlist(['127.0.0.0/8', '::1']),
    timeoutMs: 500,
  });
  const guarded = createWebhookDispatcher({ allowlist: parseAllowlist([]), timeoutMs: 500 });
  const send = (path: string, dispatcher = allowLoopback, host = '127.0.0.1') =>
    sendWebhook(dispatcher, {
      url: `${base.replace('127.0.0.1', host)}${path}`,
      headers: { 'webhook-id': 'msg_1' },
      body: '{}',
      timeoutMs: 500,
    });

  beforeAll(async () => {
    server = createServer((req, res) => {
      hits.push(req.url ?? '');
      req.resume();
      req.on('end', () => (routes[req.url ?? ''] ?? routes['/ok'])?.(req, res));
    });
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    base = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  });
  afterAll(async () => {
    server.closeAllConnections();
    await new Promise((resolve) => server.close(resolve));
    await Promise.all([allowLoopback.close(), guarded.close()]);
  });

  it('reports a 2xx as success with the response excerpt', async () => {
    const result = await send('/ok');
    expect(result).toMatchObject({ ok: true, statusCode: 200, responseExcerpt: 'thanks' });
  });

  it('does not follow a redirect: a 3xx is a failure', async () => {
    hits.length = 0;
    const result = await send('/redirect');
    expect(result).toMatchObject({ ok: false, statusCode: 302, errorCode: 'REDIRECT' });
    expect(hits).toEqual(['/redirect']);
  });

  it('keeps at most 1 KB of the response', async () => {
    const result = await send('/big-error');
    expect(result).toMatchObject({ ok: false, statusCode: 500, errorCode: 'HTTP_ERROR' });
    expect(result.responseExcerpt).toHaveLength(1_024);
  });

  it('keeps an excerpt Postgres can store', async () => {
    expect((await send('/binary')).responseExcerpt).toBe('bad');
  });

  it('reads retry-after on 429', async () => {
    expect((await send('/busy')).retryAfterMs).toBe(7_000);
  });

  it('times out a receiver that does not answer', async () => {
    const result = await send('/hang');
    expect(result).toMatchObject({ ok: false, statusCode: null, errorCode: 'TIMEOUT' });
    expect(result.durationMs).toBeLessThan(2_000);
  });

  it('reports a refused connection as a network error', async () => {
    const port = await freePort();
    const result = await sendWebhook(allowLoopback, {
      url: `http://127.0.0.1:${port}/`,
      headers: {},
      body: '{}',
      timeoutMs: 500,
    });
    expect(result).toMatchObject({ ok: false, errorCode: 'NETWORK' });
    expect(result.error).toMatch(/ECONNREFUSED/);
  });

  it('never connects to a name resolving to a private address unless allowlisted', async () => {
    hits.length = 0;
    const refused = await send('/ok', guarded, 'localhost');
    expect(refused).toMatchObject({ ok: false, statusCode: null, errorCode: 'UNSAFE_TARGET' });
    expect(hits).toEqual([]);
    // The same name through the agent that allowlists loopback does connect.
    expect(await send('/ok', allowLoopback, 'localhost')).toMatchObject({ ok: true });
  });
});
