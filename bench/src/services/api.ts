/** The producer API over HTTP as a tenant: what the cost suite asks of a spawned API. */
export class BenchApi {
  constructor(
    readonly url: string,
    private readonly key: string,
  ) {}

  async request<T>(method: 'GET' | 'POST', path: string, body?: unknown): Promise<T> {
    const res = await fetch(`${this.url}${path}`, {
      method,
      headers: {
        authorization: `Bearer ${this.key}`,
        ...(body === undefined ? {} : { 'content-type': 'application/json' }),
      },
      ...(body === undefined ? {} : { body: JSON.stringify(body) }),
    });
    const text = await res.text();
    if (!res.ok) throw new Error(`${method} ${path} answered ${res.status}: ${text.slice(0, 500)}`);
    return JSON.parse(text) as T;
  }
}

export interface Cost {
  estimated: number;
  actual: number | null;
  currency: string;
}

export interface VoiceView {
  id: string;
  status: 'cloning' | 'ready' | 'failed';
  upstream_voice_id: string | null;
  clones: number;
  cost: Cost;
  error: { code: string; message: string } | null;
}

export interface BatchView {
  id: string;
  total: number;
  counts: Record<string, number>;
  cost: Cost;
}
