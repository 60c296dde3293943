import { type Received, Receiver, type Reply, verifiesWith } from '@voxline/testing/receiver';

export interface ReceivedWebhook {
  /** The URL path it was sent to: one receiver stands in for several targets. */
  path: string;
  id: string;
  type: string;
  headers: Record<string, string>;
  body: string;
  /** Whether one of the signatures verifies with one of the secrets known to the receiver. */
  verified: boolean;
}

/**
 * The shared loopback receiver, answering as the security scenario needs: the first attempt of
 * every message to each path is answered 500 when `failFirst` is set, so the worker's retry
 * path (and its logging) runs too; every other attempt is accepted (204) and recorded.
 */
export class WebhookReceiver {
  /** Accepted messages (answered 204). */
  readonly received: ReceivedWebhook[] = [];
  readonly secrets = new Set<string>();
  /** The status answered to each attempt, by path and webhook-id. */
  readonly #answers = new Map<string, number[]>();

  private constructor(
    private readonly receiver: Receiver,
    private readonly failFirst: boolean,
  ) {}

  get port(): number {
    return this.receiver.port;
  }

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
    const receiver = await Receiver.start();
    const self = new WebhookReceiver(receiver, options.failFirst ?? false);
    receiver.reply = (request) => self.answer(request);
    return self;
  }

  private answer(request: Received): Reply {
    const id = request.headers['webhook-id'] ?? '';
    const path = new URL(request.path || '/', 'http://localhost').pathname;
    const answers = this.answers(path, id);
    this.#answers.set(`${path} ${id}`, answers);
    if (this.failFirst && answers.length === 0) {
      answers.push(500);
      return { status: 500, headers: { 'content-type': 'text/plain' }, body: 'try again' };
    }
    answers.push(204);
    this.received.push({
      path,
      id,
      type: typeOf(request.body),
      headers: request.headers,
      body: request.body,
      verified: verifiesWith(request, this.secrets),
    });
    return { status: 204 };
  }

  close(): Promise<void> {
    return this.receiver.down();
  }
}

function typeOf(body: string): string {
  try {
    return String((JSON.parse(body) as { type?: unknown }).type ?? '');
  } catch {
    return '(not JSON)';
  }
}
