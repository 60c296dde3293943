import { createHmac, timingSafeEqual } from 'node:crypto';
import { createServer, type IncomingHttpHeaders, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';

export interface ReceivedWebhook {
  id: string;
  type: string;
  headers: IncomingHttpHeaders;
  body: string;
  /** Whether one of the signatures verifies with one of the secrets known to the receiver. */
  verified: boolean;
}

/** Standard Webhooks: `v1,` + base64 HMAC-SHA256 of `id.timestamp.body`, keyed by the secret. */
function verifies(headers: IncomingHttpHeaders, body: string, secrets: Iterable<string>): boolean {
  const id = String(headers['webhook-id'] ?? '');
  const timestamp = String(headers['webhook-timestamp'] ?? '');
  const given = String(headers['webhook-signature'] ?? '')
    .split(' ')
    .filter((s) => s.startsWith('v1,'))
    .map((s) => Buffer.from(s.slice(3), 'base64'));
  for (const secret of secrets) {
    const key = Buffer.from(secret.replace(/^whsec_/, ''), 'base64');
    const expected = createHmac('sha256', key).update(`${id}.${timestamp}.${body}`).digest();
    if (given.some((g) => g.length === expected.length && timingSafeEqual(g, expected))) {
      return true;
    }
  }
  return false;
}

/**
 * A webhook receiver on loopback. The first attempt of every message is answered 500 when
 * `failFirst` is set, so the worker's retry path (and its logging) runs too.
 */
export class WebhookReceiver {
  readonly received: ReceivedWebhook[] = [];
  readonly secrets = new Set<string>();
  #attempts = new Map<string, number>();

  private constructor(
    private readonly server: Server,
    readonly port: number,
  ) {}

  /** The URL workers are allowed to call: `localhost` is on the chaos WEBHOOK_ALLOWLIST. */
  get url(): string {
    return `http://localhost:${this.port}/hooks`;
  }

  static async start(options: { failFirst?: boolean } = {}): Promise<WebhookReceiver> {
    let receiver: WebhookReceiver | null = null;
    const server = createServer((req, res) => {
      const chunks: Buffer[] = [];
      req.on('data', (c: Buffer) => chunks.push(c));
      req.on('end', () => {
        const body = Buffer.concat(chunks).toString('utf8');
        const self = receiver as WebhookReceiver;
        const id = String(req.headers['webhook-id'] ?? '');
        const attempt = (self.#attempts.get(id) ?? 0) + 1;
        self.#attempts.set(id, attempt);
        if (options.failFirst && attempt === 1) {
          res.writeHead(500, { 'content-type': 'text/plain' }).end('try again');
          return;
        }
        let type = '';
        try {
          type = String((JSON.parse(body) as { type?: unknown }).type ?? '');
        } catch {
          type = '(not JSON)';
        }
        self.received.push({
          id,
          type,
          headers: req.headers,
          body,
          verified: verifies(req.headers, body, self.secrets),
        });
        res.writeHead(204).end();
      });
    });
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    receiver = new WebhookReceiver(server, (server.address() as AddressInfo).port);
    return receiver;
  }

  close(): Promise<void> {
    this.server.closeAllConnections();
    return new Promise((resolve) => this.server.close(() => resolve()));
  }
}
