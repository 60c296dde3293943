import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { Webhook } from 'standardwebhooks';

export interface Received {
  at: number;
  path: string;
  headers: Record<string, string>;
  body: string;
}

export interface Reply {
  status: number;
  headers?: Record<string, string>;
  body?: string;
}

/**
 * A webhook receiver on loopback that records every request and answers what `reply` says.
 * It can go down and come back on the same port, like a receiver being redeployed. The worker's
 * delivery tests and the chaos scenarios both use it.
 */
export class Receiver {
  readonly requests: Received[] = [];
  reply: (request: Received, index: number) => Reply = () => ({ status: 200, body: 'ok' });
  private server: Server | null = null;

  private constructor(public port: number) {}

  static async start(): Promise<Receiver> {
    const receiver = new Receiver(0);
    await receiver.up();
    return receiver;
  }

  get url(): string {
    return `http://127.0.0.1:${this.port}`;
  }

  /** Requests carrying this webhook-id, in arrival order. */
  byId(id: string): Received[] {
    return this.requests.filter((r) => r.headers['webhook-id'] === id);
  }

  async up(): Promise<void> {
    const server = createServer((req, res) => {
      const chunks: Buffer[] = [];
      req.on('data', (chunk: Buffer) => chunks.push(chunk));
      req.on('end', () => {
        const request: Received = {
          at: Date.now(),
          path: req.url ?? '',
          headers: Object.fromEntries(
            Object.entries(req.headers).map(([k, v]) => [
              k,
              Array.isArray(v) ? v.join(',') : (v ?? ''),
            ]),
          ),
          body: Buffer.concat(chunks).toString('utf8'),
        };
        this.requests.push(request);
        const reply = this.reply(request, this.requests.length - 1);
        res.writeHead(reply.status, reply.headers);
        res.end(reply.body ?? '');
      });
    });
    await new Promise<void>((resolve) => server.listen(this.port, '127.0.0.1', resolve));
    this.port = (server.address() as AddressInfo).port;
    this.server = server;
  }

  /** Goes away: kept-alive connections are cut, new ones are refused. */
  async down(): Promise<void> {
    const server = this.server;
    if (!server) return;
    this.server = null;
    server.closeAllConnections();
    await new Promise((resolve) => server.close(resolve));
  }
}

/**
 * Whether one of the request's signatures verifies with one of `secrets`, checked the way a
 * receiver would: with the Standard Webhooks library, timestamp tolerance included.
 */
export function verifiesWith(request: Received, secrets: Iterable<string>): boolean {
  for (const secret of secrets) {
    try {
      new Webhook(secret).verify(request.body, request.headers);
      return true;
    } catch {
      // Not this secret: try the next.
    }
  }
  return false;
}
