/**
 * retryable: try again with backoff (bounded by the caller);
 * backpressure: upstream is full for this key, wait for a slot: not a failure of the job;
 * fatal: retrying cannot help (bad input, auth, balance, moderation, clone rejected).
 */
export type ErrorKind = 'retryable' | 'backpressure' | 'fatal';

/** What a request was for: `submit` is a voice clone, `speech` a speech submit of any model. */
export type Endpoint = 'submit' | 'speech' | 'query' | 'upload' | 'cancel';

/** Whether a request to this endpoint creates (and bills) a task upstream. */
export function createsTask(endpoint: Endpoint): boolean {
  return endpoint === 'submit' || endpoint === 'speech';
}

export interface RunningHubErrorInit {
  kind: ErrorKind;
  code: string | null;
  httpStatus: number | null;
  retryAfterMs: number | null;
  endpoint: Endpoint;
  raw: unknown;
  reason: string;
  alertOperator: boolean;
  upstreamMessage?: string;
  ambiguous?: boolean;
  taskLost?: boolean;
  voiceMissing?: boolean;
  cause?: unknown;
}

/** Every failure of the client, classified once for the whole system. */
export class RunningHubError extends Error {
  readonly kind: ErrorKind;
  /** Upstream errorCode/code, or HTTP_<status>, NETWORK, TIMEOUT, MALFORMED_RESPONSE, ... */
  readonly code: string | null;
  readonly httpStatus: number | null;
  /** A delay upstream asked for (retry-after) or the contract suggests (415); null if none. */
  readonly retryAfterMs: number | null;
  readonly endpoint: Endpoint;
  /** The parsed upstream body (or its text when it did not parse); never holds the API key. */
  readonly raw: unknown;
  readonly reason: string;
  /** Auth and balance failures: no job can succeed until an operator acts. */
  readonly alertOperator: boolean;
  readonly upstreamMessage: string;
  /**
   * A submit whose outcome is unknown: upstream may have created (and will bill) the task
   * although we got no taskId (timeout after connecting, connection lost mid-response,
   * damaged 2xx body, 502/504 from a gateway). RunningHub has no idempotency key, so
   * resubmitting may pay twice; the worker's ambiguous-submit policy decides.
   */
  readonly ambiguous: boolean;
  /**
   * A query for a task upstream does not have: unknown or expired (1004), or an id it cannot
   * read (1007). Asking again cannot bring it back; the caller decides the line.
   */
  readonly taskLost: boolean;
  /**
   * A speech call whose voice_id upstream does not know (never cloned, or deleted after 7
   * days unused): recognised by a configured code or by MiniMax's "voice id not exist". Always
   * `fatal`, since the same voice id cannot succeed again: the voice must be cloned anew.
   */
  readonly voiceMissing: boolean;

  constructor(init: RunningHubErrorInit) {
    const detail = [init.code ? `code ${init.code}` : null, init.upstreamMessage || null]
      .filter((part): part is string => part !== null)
      .join(': ');
    super(
      `RunningHub ${init.endpoint} failed: ${init.reason}${detail ? ` (${detail})` : ''}`,
      init.cause === undefined ? undefined : { cause: init.cause },
    );
    this.name = 'RunningHubError';
    this.kind = init.kind;
    this.code = init.code;
    this.httpStatus = init.httpStatus;
    this.retryAfterMs = init.retryAfterMs;
    this.endpoint = init.endpoint;
    this.raw = init.raw;
    this.reason = init.reason;
    this.alertOperator = init.alertOperator;
    this.upstreamMessage = init.upstreamMessage ?? '';
    this.ambiguous = init.ambiguous ?? false;
    this.taskLost = init.taskLost ?? false;
    this.voiceMissing = init.voiceMissing ?? false;
  }

  /** What a job record or dead letter keeps: no stack, no cause. */
  toJSON(): Record<string, unknown> {
    return {
      name: this.name,
      message: this.message,
      kind: this.kind,
      code: this.code,
      httpStatus: this.httpStatus,
      retryAfterMs: this.retryAfterMs,
      endpoint: this.endpoint,
      reason: this.reason,
      alertOperator: this.alertOperator,
      upstreamMessage: this.upstreamMessage,
      ambiguous: this.ambiguous,
      taskLost: this.taskLost,
      voiceMissing: this.voiceMissing,
      raw: this.raw,
    };
  }

  get retryable(): boolean {
    return this.kind !== 'fatal';
  }
}

export function isRunningHubError(error: unknown): error is RunningHubError {
  return error instanceof RunningHubError;
}
