import { Agent, request as httpRequest } from 'node:http';
import { connect, type Socket } from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type Api, startApi } from './harness.js';

// Short enough for a test, with the idle timeout far above them: only the request timeout can
// cut the dribbling client off, since it sends a byte every DRIBBLE_MS.
const REQUEST_TIMEOUT_MS = 800;
const DRIBBLE_MS = 20;
// The cut-off comes within the timeout plus Node's checking interval (at most 1 s); without a
// request timeout the connection would last until the 100 kB dribble ends, over half an hour.
const CUT_OFF_DEADLINE_MS = 5_000;

describe('HTTP server timeouts', () => {
  let api: Api;
  let port: number;
  let key: string;
  beforeAll(async () => {
    api = await startApi({
      HTTP_HEADERS_TIMEOUT_MS: '400',
      HTTP_REQUEST_TIMEOUT_MS: String(REQUEST_TIMEOUT_MS),
      HTTP_CONNECTION_TIMEOUT_MS: '30000',
      HTTP_KEEP_ALIVE_TIMEOUT_MS: '30000',
    });
    ({ key } = await api.tenant());
    await api.app.listen({ host: '127.0.0.1', port: 0 });
    port = (api.app.server.address() as { port: number }).port;
  });
  afterAll(async () => {
    await api?.close();
  });

  /** Resolves with what the server sent once the socket closes, or rejects at the deadline. */
  function closed(socket: Socket): Promise<{ received: string; afterMs: number }> {
    const started = Date.now();
    let received = '';
    socket.on('data', (chunk) => {
      received += chunk.toString('utf8');
    });
    return new Promise((resolve, reject) => {
      const deadline = setTimeout(() => {
        socket.destroy();
        reject(new Error(`still open after ${CUT_OFF_DEADLINE_MS} ms`));
      }, CUT_OFF_DEADLINE_MS);
      socket.on('error', () => {});
      socket.on('close', () => {
        clearTimeout(deadline);
        resolve({ received, afterMs: Date.now() - started });
      });
    });
  }

  it('cuts off an authenticated client that dribbles its body (408)', async () => {
    const socket = connect(port, '127.0.0.1');
    const done = closed(socket);
    await new Promise((resolve) => socket.once('connect', resolve));
    socket.write(
      'POST /v1/batches HTTP/1.1\r\nhost: 127.0.0.1\r\n' +
        `authorization: Bearer ${key}\r\ncontent-type: application/json\r\n` +
        'content-length: 100000\r\n\r\n{"lines":[',
    );
    const dribble = setInterval(() => {
      if (socket.writable) socket.write(' ');
    }, DRIBBLE_MS);
    try {
      const { received, afterMs } = await done;
      expect(received).toMatch(/^HTTP\/1\.1 408 /);
      expect(received).toContain('"code":"request_timeout"');
      expect(afterMs).toBeGreaterThanOrEqual(REQUEST_TIMEOUT_MS - 50);
    } finally {
      clearInterval(dribble);
    }
  });

  it('cuts off a client that never finishes its headers', async () => {
    const socket = connect(port, '127.0.0.1');
    const done = closed(socket);
    await new Promise((resolve) => socket.once('connect', resolve));
    socket.write('GET /healthz HTTP/1.1\r\nhost: 127.0.0.1\r\n');
    const dribble = setInterval(() => {
      if (socket.writable) socket.write('x-slow: 1\r\n');
    }, DRIBBLE_MS);
    try {
      const { received } = await done;
      expect(received).toMatch(/^HTTP\/1\.1 408 /);
    } finally {
      clearInterval(dribble);
    }
  });

  it('keeps an idle kept-alive connection past the request timeout', async () => {
    expect(api.app.server.keepAliveTimeout).toBe(30_000);
    const agent = new Agent({ keepAlive: true, maxSockets: 1 });
    const get = () =>
      new Promise<{ status: number; reused: boolean }>((resolve, reject) => {
        const req = httpRequest({ host: '127.0.0.1', port, path: '/healthz', agent }, (res) => {
          res.resume();
          res.on('end', () => resolve({ status: res.statusCode ?? 0, reused: req.reusedSocket }));
        });
        req.on('error', reject);
        req.end();
      });
    try {
      expect(await get()).toEqual({ status: 200, reused: false });
      // Idle for twice the request timeout (the scenario, not a wait for a result).
      await new Promise((resolve) => setTimeout(resolve, 2 * REQUEST_TIMEOUT_MS));
      expect(await get()).toEqual({ status: 200, reused: true });
    } finally {
      agent.destroy();
    }
  });
});
