import { Agent, request as httpRequest, type IncomingHttpHeaders } from 'node:http';
import type { Socket } from 'node:net';

// Node's global agent keeps idle sockets this long too.
const IDLE_SOCKET_MS = 5_000;

/** The last exchange on each kept-alive socket, to explain a reset on the next one. */
const lastExchange = new WeakMap<Socket, string>();

/** What was sent and answered last on the connection a failed request used, if known. */
export function previousExchange(error: unknown): string | undefined {
  return (error as { previousExchange?: string } | null)?.previousExchange;
}

export interface HttpResponse {
  status: number;
  headers: IncomingHttpHeaders;
  text: string;
  /** The body parsed as JSON; undefined when it is not JSON. */
  json: unknown;
}

export interface HttpRequest {
  method: string;
  /** Path and query, sent as given (no re-encoding): hostile paths reach the server intact. */
  path: string;
  headers?: Record<string, string | number>;
  body?: string | Buffer;
  timeoutMs?: number;
}

function parseJson(text: string): unknown {
  try {
    return JSON.parse(text);
  } catch {
    return undefined;
  }
}

/**
 * HTTP/1.1 to one origin over kept-alive connections, with node:http so that any path, header
 * value and body can be sent as bytes. A response that arrives before the body was fully sent
 * (a 401 or 413 to a 10 MB upload) is still returned: the server may close the socket on us.
 */
export class HttpClient {
  readonly #agent: Agent;
  readonly #host: string;
  readonly #port: number;

  constructor(
    readonly baseUrl: string,
    options: { maxSockets?: number } = {},
  ) {
    this.#agent = new Agent({
      keepAlive: true,
      maxSockets: options.maxSockets ?? 16,
      // An idle socket is dropped after this, or one second before the server's announced
      // `keep-alive: timeout=` (its HTTP_KEEP_ALIVE_TIMEOUT_MS) if sooner: a request sent as the
      // server closes an idle connection gets a reset. Node honours the hint only when a
      // timeout is set, and none is by default.
      timeout: IDLE_SOCKET_MS,
    });
    const url = new URL(baseUrl);
    this.#host = url.hostname;
    this.#port = Number(url.port);
  }

  send(req: HttpRequest): Promise<HttpResponse> {
    return new Promise<HttpResponse>((resolve, reject) => {
      let settled = false;
      const finish = (error: Error | null, response?: HttpResponse) => {
        if (settled) return;
        settled = true;
        if (error) reject(error);
        else resolve(response as HttpResponse);
      };
      const headers: Record<string, string | number> = { ...req.headers };
      if (req.body !== undefined && headers['content-length'] === undefined) {
        headers['content-length'] = Buffer.byteLength(req.body);
      }
      const outgoing = httpRequest(
        {
          host: this.#host,
          port: this.#port,
          method: req.method,
          path: req.path,
          headers,
          agent: this.#agent,
        },
        (res) => {
          // Taken now: by the end the agent may have detached it (res.socket is then null).
          const socket = res.socket as Socket | null;
          const chunks: Buffer[] = [];
          res.on('data', (chunk: Buffer) => chunks.push(chunk));
          res.on('end', () => {
            if (socket) {
              lastExchange.set(
                socket,
                `${req.method} ${req.path.slice(0, 120)} (${Buffer.byteLength(req.body ?? '')} B body) -> ${res.statusCode} connection: ${res.headers.connection ?? '-'}`,
              );
            }
            const text = Buffer.concat(chunks).toString('utf8');
            finish(null, {
              status: res.statusCode ?? 0,
              headers: res.headers,
              text,
              json: parseJson(text),
            });
          });
          res.on('error', (error) => finish(error));
        },
      );
      outgoing.setTimeout(req.timeoutMs ?? 30_000, () =>
        outgoing.destroy(new Error(`${req.method} ${req.path.slice(0, 80)} timed out`)),
      );
      outgoing.on('error', (error) => {
        const previous = outgoing.socket ? lastExchange.get(outgoing.socket) : undefined;
        if (previous) Object.assign(error, { previousExchange: previous });
        // EPIPE/ECONNRESET while still writing a body the server already answered: the
        // response handler settles the promise; anything else is a failure.
        setTimeout(() => finish(error), 200);
      });
      if (req.body !== undefined) outgoing.end(req.body);
      else outgoing.end();
    });
  }

  /** JSON in, JSON out, with a Bearer key when given. */
  async call(
    method: string,
    path: string,
    options: { key?: string; body?: unknown; headers?: Record<string, string> } = {},
  ): Promise<HttpResponse> {
    const headers: Record<string, string> = { ...options.headers };
    if (options.key) headers.authorization = `Bearer ${options.key}`;
    let body: string | undefined;
    if (options.body !== undefined) {
      headers['content-type'] ??= 'application/json';
      body = typeof options.body === 'string' ? options.body : JSON.stringify(options.body);
    }
    return this.send({ method, path, headers, ...(body !== undefined ? { body } : {}) });
  }

  close(): void {
    this.#agent.destroy();
  }
}
