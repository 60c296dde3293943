import { createHmac, timingSafeEqual } from 'node:crypto';
import { createServer, type IncomingHttpHeaders, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';

export interface ReceivedWebhook {
  /** The URL path it was sent to: one receiver stands in for several targets. */
  path: string;
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
 * A webhook receiver on loopback. The first attempt of every message to each path is answered
 * 500 when `failFirst` is set, so the worker's retry path (and its logging) runs too.
 */
export class WebhookReceiver {
  /** Accepted messages (answered 204). */
  readonly received: ReceivedWebhook[] = [];
  readonly secrets = new Set<string>();
  /** The status answered to each attempt, by path and webhook-id. */
  #answers = new Map<string, number[]>();

  private constructor(
    private readonly server: Server,
    readonly port: number,
  ) {}

  /**
   * A URL workers are allowed to call (`localhost` is on the chaos WEBHOOK_ALLOWLIST); give
   * each target its own `name` so that its attempts are told apart from another's.
   */
  url(name = 'default'): string {
    return `http://localhost:${this.port}/hooks/${name}`;
  }

  /** What each attempt at one message to one path was answered, in order. */
  answers(path: string, id: string): number[] {
    return this.#answers.get(`${path} ${id}`) ?? [];
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
        const path = new URL(req.url ?? '/', 'http://localhost').pathname;
        const answers = self.#answers.get(`${path} ${id}`) ?? [];
        self.#answers.set(`${path} ${id}`, answers);
        if (options.failFirst && answers.length === 0) {
          answers.push(500);
          res.writeHead(500, { 'content-type': 'text/plain' }).end('try again');
          return;
        }
        answers.push(204);
        let type = '';
        try {
          type = String((JSON.parse(body) as { type?: unknown }).type ?? '');
        } catch {
          type = '(not JSON)';
        }
        self.received.push({
          path,
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
