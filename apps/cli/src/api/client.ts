import { setTimeout as sleep } from 'node:timers/promises';
import {
  apiKeyIssuedResponse,
  apiKeyListResponse,
  apiKeyResponse,
  batchAcceptedResponse,
  batchCancelResponse,
  batchResponse,
  cloneListResponse,
  cloneResponse,
  deadLetterListResponse,
  errorResponse,
  redriveResponse,
  tenantCreatedResponse,
  voiceListResponse,
  voiceResponse,
} from '@voxline/contract';
import { z } from 'zod';
import type { BatchBody } from '../enqueue/batches.js';

/** An answer of the API that is not a success, or no answer at all (`status` 0). */
export class ApiError extends Error {
  constructor(
    readonly status: number,
    readonly code: string,
    message: string,
    readonly details: unknown = null,
  ) {
    super(message);
    this.name = 'ApiError';
  }
}

export interface ClientOptions {
  baseUrl: string;
  apiKey?: string | undefined;
  adminToken?: string | undefined;
}

interface RequestOptions {
  auth: 'tenant' | 'admin' | 'none';
  /** Sent as JSON, or as multipart/form-data when it is a FormData. */
  body?: unknown;
  headers?: Record<string, string>;
  /** Extra attempts when the API is unreachable or answers 502/503/504/429. */
  retries?: number;
  timeoutMs?: number;
  signal?: AbortSignal | undefined;
}

// A 10,000-line batch is written in one transaction and enqueued in chunks: seconds, not ms.
const BATCH_TIMEOUT_MS = 120_000;
const DEFAULT_TIMEOUT_MS = 30_000;
const RETRYABLE_STATUS = new Set([429, 502, 503, 504]);

function networkReason(error: unknown): string {
  // fetch throws TypeError('fetch failed'); what happened is in its causes.
  let reason = error instanceof Error ? error.message : String(error);
  let current: unknown = error;
  for (let depth = 0; depth < 4 && current && typeof current === 'object'; depth++) {
    const { code, name, message } = current as {
      code?: unknown;
      name?: unknown;
      message?: unknown;
    };
    if (typeof code === 'string') return code;
    if (name === 'TimeoutError') return 'timed out';
    if (typeof message === 'string' && depth > 0) reason = message;
    current = (current as { cause?: unknown }).cause;
  }
  return reason;
}

/** The producer and admin API over fetch. Every answer is checked against its schema. */
export class ApiClient {
  readonly baseUrl: string;

  constructor(private readonly options: ClientOptions) {
    this.baseUrl = options.baseUrl.replace(/\/+$/, '');
  }

  private authorization(auth: RequestOptions['auth']): string | undefined {
    if (auth === 'none') return undefined;
    if (auth === 'admin') {
      if (!this.options.adminToken) {
        throw new ApiError(0, 'missing_admin_token', 'give --admin-token or set ADMIN_TOKEN');
      }
      return `Bearer ${this.options.adminToken}`;
    }
    if (!this.options.apiKey) {
      throw new ApiError(
        0,
        'missing_api_key',
        'give --key vxl_… or set VOXLINE_API_KEY (an admin creates one with `voxline tenants create NAME`)',
      );
    }
    return `Bearer ${this.options.apiKey}`;
  }

  async request<S extends z.ZodType>(
    method: 'GET' | 'POST' | 'DELETE',
    path: string,
    schema: S,
    options: RequestOptions,
  ): Promise<{ status: number; headers: Headers; data: z.output<S> }> {
    const headers: Record<string, string> = { accept: 'application/json', ...options.headers };
    const authorization = this.authorization(options.auth);
    if (authorization) headers.authorization = authorization;
    // fetch sets a FormData's content type itself, with its boundary.
    const multipart = options.body instanceof FormData;
    if (options.body !== undefined && !multipart) headers['content-type'] = 'application/json';
    const body: string | FormData | undefined =
      options.body === undefined
        ? undefined
        : multipart
          ? (options.body as FormData)
          : JSON.stringify(options.body);
    const retries = options.retries ?? 0;

    for (let attempt = 0; ; attempt++) {
      const timeout = AbortSignal.timeout(options.timeoutMs ?? DEFAULT_TIMEOUT_MS);
      let response: Response;
      try {
        response = await fetch(`${this.baseUrl}${path}`, {
          method,
          headers,
          ...(body !== undefined ? { body } : {}),
          signal: options.signal ? AbortSignal.any([options.signal, timeout]) : timeout,
        });
      } catch (error) {
        if (options.signal?.aborted) throw error;
        if (attempt < retries) {
          await sleep(Math.min(500 * 2 ** attempt, 5_000), undefined, { signal: options.signal });
          continue;
        }
        throw new ApiError(
          0,
          'unreachable',
          `cannot reach the voxline API at ${this.baseUrl} (${networkReason(error)}); is it running? \`pnpm start\` serves one, --api or VOXLINE_API_URL points elsewhere`,
        );
      }
      const text = await response.text();
      if (!response.ok) {
        if (RETRYABLE_STATUS.has(response.status) && attempt < retries) {
          const after = Number(response.headers.get('retry-after'));
          const waitMs = Number.isFinite(after) && after > 0 ? after * 1000 : 500 * 2 ** attempt;
          await sleep(Math.min(waitMs, 10_000), undefined, { signal: options.signal });
          continue;
        }
        throw this.errorFrom(response.status, text);
      }
      let json: unknown;
      try {
        json = text.length > 0 ? JSON.parse(text) : undefined;
      } catch {
        throw new ApiError(response.status, 'bad_response', `${method} ${path}: not JSON`);
      }
      const parsed = schema.safeParse(json);
      if (!parsed.success) {
        throw new ApiError(
          response.status,
          'bad_response',
          `${method} ${path}: unexpected answer (${parsed.error.issues[0]?.message ?? 'invalid'}); is ${this.baseUrl} a voxline API?`,
        );
      }
      return { status: response.status, headers: response.headers, data: parsed.data };
    }
  }

  private errorFrom(status: number, text: string): ApiError {
    try {
      const parsed = errorResponse.safeParse(JSON.parse(text));
      if (parsed.success) {
        const { code, message, details } = parsed.data.error;
        return new ApiError(status, code, message, details);
      }
    } catch {
      // not JSON: fall through
    }
    return new ApiError(status, `http_${status}`, text.slice(0, 200) || `HTTP ${status}`);
  }

  createTenant(name: string) {
    return this.request('POST', '/admin/tenants', tenantCreatedResponse, {
      auth: 'admin',
      body: { name },
    }).then((r) => r.data);
  }

  issueApiKey(tenantId: string) {
    return this.request(
      'POST',
      `/admin/tenants/${encodeURIComponent(tenantId)}/api-keys`,
      apiKeyIssuedResponse,
      {
        auth: 'admin',
      },
    ).then((r) => r.data);
  }

  listApiKeys(tenantId: string) {
    return this.request(
      'GET',
      `/admin/tenants/${encodeURIComponent(tenantId)}/api-keys`,
      apiKeyListResponse,
      {
        auth: 'admin',
        retries: 3,
      },
    ).then((r) => r.data);
  }

  /** Safe to retry: revoking a revoked key answers the same. */
  revokeApiKey(tenantId: string, keyId: string) {
    const path = `/admin/tenants/${encodeURIComponent(tenantId)}/api-keys/${encodeURIComponent(keyId)}/revoke`;
    return this.request('POST', path, apiKeyResponse, { auth: 'admin', retries: 2 }).then(
      (r) => r.data,
    );
  }

  /** Safe to retry: the Idempotency-Key makes a repeated request answer with the same batch. */
  async createBatch(body: BatchBody, idempotencyKey: string, signal?: AbortSignal) {
    const r = await this.request('POST', '/v1/batches', batchAcceptedResponse, {
      auth: 'tenant',
      body,
      headers: { 'idempotency-key': idempotencyKey },
      retries: 4,
      timeoutMs: BATCH_TIMEOUT_MS,
      signal,
    });
    return { batch: r.data, replayed: r.headers.get('idempotent-replayed') === 'true' };
  }

  async getBatch(id: string, signal?: AbortSignal) {
    try {
      const r = await this.request('GET', `/v1/batches/${encodeURIComponent(id)}`, batchResponse, {
        auth: 'tenant',
        retries: 3,
        signal,
      });
      return r.data;
    } catch (error) {
      // The API says "batch not found" whether the id is unknown, malformed or another
      // tenant's; with several ids on the command line, say which.
      if (error instanceof ApiError && error.status === 404) {
        throw new ApiError(404, error.code, `batch ${id} not found (for this API key)`);
      }
      throw error;
    }
  }

  /**
   * `GET /v1/clones/:id/audio`: voxline's stored copy of a line's audio, as a streaming
   * response (the caller reads or cancels its body). A refusal is thrown as the API's error.
   */
  async openCloneAudio(id: string, signal: AbortSignal): Promise<Response> {
    const authorization = this.authorization('tenant') as string;
    let response: Response;
    try {
      response = await fetch(`${this.baseUrl}/v1/clones/${encodeURIComponent(id)}/audio`, {
        headers: { authorization, accept: 'audio/*, */*' },
        signal,
      });
    } catch (error) {
      if (signal.aborted) throw error;
      throw new ApiError(
        0,
        'unreachable',
        `cannot reach ${this.baseUrl} (${networkReason(error)})`,
      );
    }
    if (!response.ok || !response.body)
      throw this.errorFrom(response.status, await response.text());
    return response;
  }

  listBatchClones(id: string, cursor: string | null, limit = 1_000) {
    const query = new URLSearchParams({ limit: String(limit) });
    if (cursor) query.set('cursor', cursor);
    return this.request(
      'GET',
      `/v1/batches/${encodeURIComponent(id)}/clones?${query}`,
      cloneListResponse,
      {
        auth: 'tenant',
        retries: 3,
      },
    ).then((r) => r.data);
  }

  cancelBatch(id: string) {
    return this.request(
      'POST',
      `/v1/batches/${encodeURIComponent(id)}/cancel`,
      batchCancelResponse,
      {
        auth: 'tenant',
        retries: 2,
      },
    ).then((r) => r.data);
  }

  cancelClone(id: string) {
    return this.request('POST', `/v1/clones/${encodeURIComponent(id)}/cancel`, cloneResponse, {
      auth: 'tenant',
      retries: 2,
    }).then((r) => r.data);
  }

  redrive(body: { ids: string[] } | { batch_id: string } | { error_code: string }) {
    return this.request('POST', '/v1/dead-letters/redrive', redriveResponse, {
      auth: 'tenant',
      body,
    }).then((r) => r.data);
  }

  listDeadLetters(filter: Record<string, string>, cursor: string | null, limit: number) {
    const query = new URLSearchParams({ ...filter, limit: String(limit) });
    if (cursor) query.set('cursor', cursor);
    return this.request('GET', `/v1/dead-letters?${query}`, deadLetterListResponse, {
      auth: 'tenant',
      retries: 3,
    }).then((r) => r.data);
  }

  /**
   * `POST /v1/voices`: JSON with an `audio` URL, or multipart with the reference `file`. Safe
   * to retry: the Idempotency-Key makes a repeated request answer with the same voice.
   */
  async createVoice(body: Record<string, unknown> | FormData, idempotencyKey: string) {
    const r = await this.request('POST', '/v1/voices', voiceResponse, {
      auth: 'tenant',
      body,
      headers: { 'idempotency-key': idempotencyKey },
      retries: 4,
      // An upload of a reference file of up to 10 MB over a slow link.
      timeoutMs: BATCH_TIMEOUT_MS,
    });
    return { voice: r.data, replayed: r.headers.get('idempotent-replayed') === 'true' };
  }

  async getVoice(id: string, signal?: AbortSignal) {
    try {
      const r = await this.request('GET', `/v1/voices/${encodeURIComponent(id)}`, voiceResponse, {
        auth: 'tenant',
        retries: 3,
        signal,
      });
      return r.data;
    } catch (error) {
      if (error instanceof ApiError && error.status === 404) {
        throw new ApiError(404, error.code, `voice ${id} not found (for this API key)`);
      }
      throw error;
    }
  }

  listVoices(cursor: string | null, limit: number) {
    const query = new URLSearchParams({ limit: String(limit) });
    if (cursor) query.set('cursor', cursor);
    return this.request('GET', `/v1/voices?${query}`, voiceListResponse, {
      auth: 'tenant',
      retries: 3,
    }).then((r) => r.data);
  }

  /** `204` with no body; `409 voice_in_use` while lines of it are still to be spoken. */
  async deleteVoice(id: string): Promise<void> {
    await this.request('DELETE', `/v1/voices/${encodeURIComponent(id)}`, z.undefined(), {
      auth: 'tenant',
    });
  }
}
