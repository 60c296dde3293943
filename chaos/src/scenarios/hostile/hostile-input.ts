import { connect } from 'node:net';
import { waitFor } from '@voxline/testing/wait';
import fc from 'fast-check';
import {
  HttpClient,
  type HttpRequest,
  type HttpResponse,
  previousExchange,
} from '../../infra/http.js';
import { type Check, check } from '../../observe.js';
import type { ScenarioResult } from '../../report.js';
import { AUDIO_URL, type Environment, Stack, type Tenant, VOICE_ID } from '../../stack.js';
import { secretsCheck } from '../common.js';
import {
  anyString,
  brokenJson,
  CONTENT_TYPES,
  headerValue,
  mutatedBody,
  queryValue,
  urlPart,
} from './arbitraries.js';

export interface HostileInputOptions {
  /** Runs per property (there are six properties). */
  runs: number;
  seed: number;
}

export const HOSTILE_INPUT = {
  ci: { runs: 120 },
  soak: { runs: 1_500 },
} as const;

const TABLES = [
  'tenants',
  'api_keys',
  'batches',
  'clone_jobs',
  'clone_job_events',
  'dead_letters',
  'webhook_endpoints',
  'webhook_events',
  'webhook_deliveries',
] as const;

/** Row counts of every table a request could write. */
async function rowCounts(stack: Stack): Promise<string> {
  const { rows } = await stack.db.pool.query<Record<string, string>>(
    `select ${TABLES.map((t) => `(select count(*) from ${t}) as ${t}`).join(', ')}`,
  );
  return JSON.stringify(rows[0]);
}

interface Ids {
  clone: string;
  batch: string;
  endpoint: string;
  missing: string;
}

interface Tally {
  requests: number;
  byStatus: Record<string, number>;
  violations: string[];
  /** Refusals without the `{ error: { code, message } }` envelope, by status and shape. */
  offEnvelope: Map<string, { count: number; example: string }>;
}

export function newTally(): Tally {
  return {
    requests: 0,
    byStatus: {},
    violations: [],
    offEnvelope: new Map(),
  };
}

function describe(req: HttpRequest): string {
  const body =
    req.body === undefined
      ? ''
      : ` body(${Buffer.byteLength(req.body)} B)=${String(req.body).slice(0, 160)}`;
  return `${req.method} ${req.path.slice(0, 160)}${body}`;
}

function hasEnvelope(json: unknown): boolean {
  const error = (json as { error?: { code?: unknown; message?: unknown } } | undefined)?.error;
  return typeof error?.code === 'string' && typeof error.message === 'string';
}

/** The shape of a body, for grouping refusals: `{error:string,message,statusCode}`. */
function shapeOf(json: unknown): string {
  if (json === undefined) return '(not JSON)';
  if (json === null || typeof json !== 'object') return typeof json;
  return `{${Object.entries(json)
    .map(([k, v]) => `${k}:${typeof v}`)
    .join(',')}}`;
}

function noteOffEnvelope(tally: Tally, status: number, json: unknown, example: string): void {
  const key = `${status} ${shapeOf(json)}`;
  const entry = tally.offEnvelope.get(key) ?? { count: 0, example };
  entry.count += 1;
  tally.offEnvelope.set(key, entry);
}

/**
 * Sends one request and judges the answer. Hard failures (the property fails and shrinks):
 * no answer (a reset included), a 5xx, a refused request that changed a row. A refusal without the JSON error
 * envelope is tallied apart, so that one known shape problem does not stop the search for
 * worse ones.
 */
async function judge(stack: Stack, tally: Tally, req: HttpRequest): Promise<string | null> {
  const before = await rowCounts(stack);
  let res: HttpResponse;
  try {
    res = await stack.http.send({ timeoutMs: 30_000, ...req });
  } catch (error) {
    // A reset is a failure too: a client cannot tell it from a crash, and it was once the
    // server closing a socket under a client still sending (see keepAliveChecks).
    const previous = previousExchange(error);
    return `no answer (${String(error)}) to ${describe(req)}${previous ? `, after ${previous} on that connection` : ''}`;
  }
  tally.requests += 1;
  tally.byStatus[String(res.status)] = (tally.byStatus[String(res.status)] ?? 0) + 1;
  if (res.status >= 500) return `${res.status} ${res.text.slice(0, 200)} for ${describe(req)}`;
  if (res.status >= 400) {
    if (req.method !== 'HEAD' && !hasEnvelope(res.json)) {
      noteOffEnvelope(
        tally,
        res.status,
        res.json,
        `${res.text.slice(0, 160)} for ${describe(req)}`,
      );
    }
    const after = await rowCounts(stack);
    if (after !== before)
      return `${res.status} yet rows changed ${before} -> ${after} for ${describe(req)}`;
  } else if (res.status < 200 || res.status >= 300) {
    return `unexpected ${res.status} for ${describe(req)}`;
  }
  return null;
}

/** Runs one property through fast-check; a counterexample becomes a violation, not a throw. */
async function property<T>(
  stack: Stack,
  tally: Tally,
  name: string,
  arbitrary: fc.Arbitrary<T>,
  toRequest: (value: T) => HttpRequest,
  options: HostileInputOptions,
): Promise<Check> {
  const problems: string[] = [];
  const details = await fc.check(
    fc.asyncProperty(arbitrary, async (value) => {
      const problem = await judge(stack, tally, toRequest(value));
      if (problem) problems.push(problem);
      return problem === null;
    }),
    {
      numRuns: options.runs,
      seed: options.seed,
      // Shrinking re-sends requests; a bounded effort is enough to show a small example.
      interruptAfterTimeLimit: 120_000,
      markInterruptAsFailure: false,
    },
  );
  const shrunk = problems.at(-1);
  if (details.failed) tally.violations.push(`${name}: ${shrunk ?? String(details.errorInstance)}`);
  return check(
    `${name}: ${details.numRuns} runs, never a 5xx, no row written by a refusal`,
    !details.failed,
    details.failed ? `${shrunk ?? String(details.errorInstance)} (seed ${details.seed})` : '',
  );
}

interface KeepAliveCase {
  name: string;
  /** Sent first on the connection, when the refusal needs a history (a 401 before it). */
  before?: HttpRequest;
  refused: HttpRequest;
  status: number;
  /**
   * How often to try: a reset under a client still sending is a race (before the fix, a
   * third of the 413s and four in five 4 MB headers were lost), so one try could pass by luck.
   */
  tries: number;
}

/** Sends the case on one kept-alive connection; a problem in words, or null. */
async function keepAliveTry(stack: Stack, c: KeepAliveCase): Promise<string | null> {
  const client = new HttpClient(stack.apiUrl, { maxSockets: 1 });
  const outcome = (p: Promise<HttpResponse>) =>
    p.then(
      (r) => `${r.status}`,
      (e: unknown) => String(e),
    );
  try {
    const opened = await outcome(client.send(c.before ?? { method: 'GET', path: '/healthz' }));
    const refused = await outcome(client.send({ ...c.refused, timeoutMs: 60_000 }));
    const next = await outcome(client.send({ method: 'GET', path: '/healthz' }));
    return refused === `${c.status}` && next === '200'
      ? null
      : `before ${opened}, refusal ${refused}, next ${next}`;
  } finally {
    client.close();
  }
}

/**
 * A client that keeps connections alive (every HTTP library does) must get its answer and be
 * able to send its next request after a refusal: a server that drops the connection must say
 * `connection: close` (or the next request fails with ECONNRESET), and must not close it under
 * a client still sending (or that client's write fails with EPIPE or ECONNRESET before it reads
 * the refusal). The second is what the fuzzer once met as a reset "after a 401 to a DELETE":
 * the DELETE was innocent; the next request carried 1 MB of headers, and the server destroyed
 * the socket as soon as it had written the 431.
 */
async function keepAliveChecks(stack: Stack, tenant: Tenant): Promise<Check[]> {
  const auth = { authorization: `Bearer ${tenant.key}`, 'content-type': 'application/json' };
  const cases: KeepAliveCase[] = [
    {
      name: 'headers over 16 KB',
      refused: {
        method: 'GET',
        path: '/v1/dead-letters',
        headers: { 'x-big': 'b'.repeat(20_000) },
      },
      status: 431,
      tries: 20,
    },
    {
      // The fuzzer's 1 MB lost the race to the reset a few times in a hundred, under load;
      // 4 MB is still being written when the server answers, almost every time.
      name: '4 MB of headers, after a 401 to a body-less DELETE',
      before: {
        method: 'DELETE',
        path: '/v1/webhook-endpoints/0190a0b0-0000-7000-8000-000000000000',
        headers: { authorization: 'Bearer not-a-key' },
      },
      refused: {
        method: 'OPTIONS',
        path: '/v1/webhook-endpoints',
        headers: { authorization: 'x'.repeat(4 * 1024 * 1024) },
      },
      status: 431,
      tries: 20,
    },
    {
      name: 'a path that does not decode',
      refused: { method: 'GET', path: '/v1/clones/%' },
      status: 400,
      tries: 5,
    },
    {
      name: 'a path parameter over 100 characters',
      refused: { method: 'GET', path: `/v1/clones/${'x'.repeat(150)}` },
      status: 414,
      tries: 5,
    },
    {
      name: 'a body over the limit',
      refused: {
        method: 'POST',
        path: '/v1/batches',
        headers: auth,
        body: `{"lines":"${'q'.repeat(17 * 1024 * 1024)}"}`,
      },
      status: 413,
      tries: 60,
    },
    {
      name: 'a body refused before it is read',
      refused: {
        method: 'POST',
        path: '/v1/batches',
        headers: { 'content-type': 'application/json' },
        body: `{"lines":"${'q'.repeat(1024 * 1024)}"}`,
      },
      status: 401,
      tries: 10,
    },
  ];
  const checks: Check[] = [];
  for (const c of cases) {
    const problems: string[] = [];
    for (let i = 0; i < c.tries; i++) {
      const problem = await keepAliveTry(stack, c);
      if (problem) problems.push(problem);
    }
    checks.push(
      check(
        `keep-alive: ${c.name} is answered ${c.status}, then the next request on that connection (${c.tries} tries)`,
        problems.length === 0,
        problems.length ? `${problems.length} failed, e.g. ${problems[0]}` : '',
      ),
    );
  }
  return checks;
}

/** One check over every refusal seen: the JSON error envelope, whatever refused it. */
export function envelopeCheck(tally: Tally): Check {
  const groups = [...tally.offEnvelope.entries()];
  return check(
    'every refusal is JSON {error:{code,message}} (framework and protocol errors included)',
    groups.length === 0,
    groups
      .map(([key, { count, example }]) => `${count} x ${key}, e.g. ${example.slice(0, 200)}`)
      .join(' | '),
  );
}

function json(tenant: Tenant, body: unknown, extra: Record<string, string> = {}) {
  return {
    headers: {
      authorization: `Bearer ${tenant.key}`,
      'content-type': 'application/json',
      ...extra,
    },
    body: JSON.stringify(body) ?? 'null',
  };
}

const VALID_CLONE = {
  audio: AUDIO_URL,
  custom_voice_id: VOICE_ID,
  text: 'A line of narration.',
  accuracy: 0.7,
  need_noise_reduction: false,
  need_volume_normalization: false,
  model: 'speech-02-hd',
  language_boost: 'English',
  ref: 'ref-1',
  webhook_url: 'http://localhost:9/hook',
  metadata: { chapter: 1 },
};
const CLONE_PATHS = Object.keys(VALID_CLONE).map((k) => [k]);

const VALID_BATCH = {
  voice: { audio: AUDIO_URL, custom_voice_id: VOICE_ID, model: 'speech-2.8-turbo' },
  lines: [
    { text: 'First line.', ref: 'a' },
    { text: 'Second line.', accuracy: 0.5 },
  ],
  webhook_url: 'http://localhost:9/hook',
  metadata: { book: 'x' },
};
const BATCH_PATHS = [
  ['voice'],
  ['voice', 'audio'],
  ['voice', 'custom_voice_id'],
  ['voice', 'model'],
  ['lines'],
  ['lines', 0],
  ['lines', 0, 'text'],
  ['lines', 1, 'accuracy'],
  ['lines', 1, 'audio'],
  ['webhook_url'],
  ['metadata'],
];

const VALID_REDRIVE = { ids: ['00000000-0000-4000-8000-000000000000'] };
const VALID_ENDPOINT = {
  url: 'http://localhost:9/hook',
  event_types: ['clone.succeeded'],
  description: 'x',
};

/** Routes that take a JSON body, with a valid body to bend. */
function bodyRoutes(ids: Ids) {
  return [
    { method: 'POST', path: '/v1/clones', valid: VALID_CLONE, paths: CLONE_PATHS },
    { method: 'POST', path: '/v1/batches', valid: VALID_BATCH, paths: BATCH_PATHS },
    {
      method: 'POST',
      path: '/v1/dead-letters/redrive',
      valid: VALID_REDRIVE,
      paths: [['ids'], ['ids', 0], ['batch_id'], ['error_code']],
    },
    {
      method: 'POST',
      path: '/v1/webhook-endpoints',
      valid: VALID_ENDPOINT,
      paths: [['url'], ['event_types'], ['event_types', 0], ['description']],
    },
    { method: 'POST', path: `/v1/clones/${ids.missing}/cancel`, valid: {}, paths: [['x']] },
    { method: 'POST', path: `/v1/batches/${ids.missing}/cancel`, valid: {}, paths: [['x']] },
    {
      method: 'POST',
      path: `/v1/webhook-deliveries/${ids.missing}/redeliver`,
      valid: {},
      paths: [['x']],
    },
  ];
}

/** Every /v1 route (and the admin one), with a representative path. */
function allRoutes(ids: Ids): Array<[string, string]> {
  return [
    ['POST', '/v1/clones'],
    ['GET', `/v1/clones/${ids.clone}`],
    ['POST', `/v1/clones/${ids.missing}/cancel`],
    ['POST', '/v1/batches'],
    ['GET', `/v1/batches/${ids.batch}`],
    ['GET', `/v1/batches/${ids.batch}/clones`],
    ['POST', `/v1/batches/${ids.missing}/cancel`],
    ['GET', '/v1/dead-letters'],
    ['POST', '/v1/dead-letters/redrive'],
    ['POST', '/v1/webhook-endpoints'],
    ['GET', '/v1/webhook-endpoints'],
    ['GET', `/v1/webhook-endpoints/${ids.endpoint}`],
    ['DELETE', `/v1/webhook-endpoints/${ids.missing}`],
    ['GET', '/v1/webhook-deliveries'],
    ['POST', `/v1/webhook-deliveries/${ids.missing}/redeliver`],
    ['POST', '/admin/tenants'],
  ];
}

/** GET routes with a query string, each key with a value the route accepts. */
const QUERY_ROUTES = (ids: Ids) => [
  {
    path: `/v1/batches/${ids.batch}/clones`,
    valid: { status: 'queued', limit: '10' } as Record<string, string>,
    cursor: 'batch-clones',
  },
  {
    path: '/v1/dead-letters',
    valid: {
      batch_id: ids.batch,
      error_code: '1505',
      since: '2024-01-01T00%3A00%3A00Z',
      include_redriven: 'true',
      limit: '10',
    } as Record<string, string>,
    cursor: 'dead-letters',
  },
  {
    path: '/v1/webhook-deliveries',
    valid: {
      status: 'pending',
      event_type: 'clone.succeeded',
      endpoint_id: ids.endpoint,
      clone_id: ids.clone,
      batch_id: ids.batch,
      since: '2024-01-01T00%3A00%3A00Z',
      limit: '10',
    } as Record<string, string>,
    cursor: 'webhook-deliveries',
  },
];

const ID_ROUTES: Array<[string, (id: string) => string]> = [
  ['GET', (id) => `/v1/clones/${id}`],
  ['POST', (id) => `/v1/clones/${id}/cancel`],
  ['GET', (id) => `/v1/batches/${id}`],
  ['GET', (id) => `/v1/batches/${id}/clones`],
  ['POST', (id) => `/v1/batches/${id}/cancel`],
  ['GET', (id) => `/v1/webhook-endpoints/${id}`],
  ['DELETE', (id) => `/v1/webhook-endpoints/${id}`],
  ['POST', (id) => `/v1/webhook-deliveries/${id}/redeliver`],
];

/** The six properties, then the cases that need a socket of their own. */
export async function hostileInputChecks(
  stack: Stack,
  tenant: Tenant,
  ids: Ids,
  options: HostileInputOptions,
  tally: Tally,
): Promise<Check[]> {
  const checks: Check[] = [];
  const routes = bodyRoutes(ids);

  checks.push(
    await property(
      stack,
      tally,
      'bodies',
      fc.integer({ min: 0, max: routes.length - 1 }).chain((i) => {
        const route = routes[i] as (typeof routes)[number];
        return mutatedBody(route.valid, route.paths).map((body) => ({ route, body }));
      }),
      ({ route, body }) => ({ method: route.method, path: route.path, ...json(tenant, body) }),
      options,
    ),
  );

  checks.push(
    await property(
      stack,
      tally,
      'raw bodies (not JSON, damaged JSON, bytes)',
      fc
        .tuple(
          fc.constantFrom(...routes),
          fc.oneof(fc.constant('application/json'), fc.constantFrom(...CONTENT_TYPES)),
        )
        .chain(([route, type]) => brokenJson(route.valid).map((body) => ({ route, type, body }))),
      ({ route, type, body }) => ({
        method: route.method,
        path: route.path,
        headers: { authorization: `Bearer ${tenant.key}`, 'content-type': type },
        body,
      }),
      options,
    ),
  );

  const admin = `Bearer ${stack.adminToken}`;
  checks.push(
    await property(
      stack,
      tally,
      'headers (auth, Idempotency-Key, content-type, methods)',
      fc.record({
        route: fc.constantFrom(...allRoutes(ids)),
        method: fc.option(fc.constantFrom('PUT', 'PATCH', 'OPTIONS', 'HEAD', 'TRACE'), {
          freq: 5,
        }),
        auth: fc.oneof(
          fc.constant(`Bearer ${tenant.key}`),
          fc.constant(admin),
          anyString.map((s) => `Bearer ${s}`),
          anyString,
          anyString.map((s) => `Basic ${Buffer.from(`admin:${s}`).toString('base64')}`),
          fc.constant(`Basic ${Buffer.from(`admin:${stack.adminToken}`).toString('base64')}`),
          fc.constant(`Basic ${Buffer.from(`root:${stack.adminToken}`).toString('base64')}`),
          fc.constant(`bearer   ${tenant.key}   `),
          fc.constant(`Bearer ${tenant.key.slice(0, -1)}`),
        ),
        idempotencyKey: fc.option(anyString),
        requestId: fc.option(anyString),
        contentType: fc.option(fc.constantFrom(...CONTENT_TYPES)),
      }),
      ({ route: [method, path], method: other, auth, idempotencyKey, requestId, contentType }) => {
        const body =
          path === '/admin/tenants'
            ? { name: 'fuzzed' }
            : path === '/v1/batches'
              ? VALID_BATCH
              : path === '/v1/clones'
                ? VALID_CLONE
                : undefined;
        const headers: Record<string, string> = { authorization: headerValue(auth) };
        if (idempotencyKey !== null) headers['idempotency-key'] = headerValue(idempotencyKey);
        if (requestId !== null) headers['x-request-id'] = headerValue(requestId).slice(0, 4_000);
        if (body !== undefined) headers['content-type'] = contentType ?? 'application/json';
        return {
          method: other ?? method,
          path,
          headers,
          ...(body !== undefined && other !== 'HEAD' ? { body: JSON.stringify(body) } : {}),
        };
      },
      options,
    ),
  );

  const queryRoutes = QUERY_ROUTES(ids);
  checks.push(
    await property(
      stack,
      tally,
      'query strings',
      // Mostly valid query strings with one value (or key) gone wrong, so that the bad value
      // reaches the code behind validation; sometimes several bad pairs at once.
      fc.constantFrom(...queryRoutes).chain((route) => {
        const keys = [...Object.keys(route.valid), 'cursor'];
        const bad = fc
          .oneof(
            { weight: 5, arbitrary: fc.constantFrom(...keys) },
            { weight: 1, arbitrary: urlPart },
          )
          .chain((key) => queryValue(key, route.cursor).map((value) => [key, value] as const));
        const good = fc
          .subarray(Object.entries(route.valid))
          .map((entries) => entries.map(([k, v]) => [k, v] as const));
        return fc
          .tuple(
            good,
            fc.oneof(
              { weight: 4, arbitrary: bad.map((pair) => [pair]) },
              { weight: 1, arbitrary: fc.array(bad, { minLength: 2, maxLength: 3 }) },
            ),
          )
          .map(([valid, hostile]) => ({
            route,
            pairs: [...valid.filter(([k]) => !hostile.some(([h]) => h === k)), ...hostile],
          }));
      }),
      ({ route, pairs }) => ({
        method: 'GET',
        path: `${route.path}?${pairs.map(([k, v]) => `${k}=${v}`).join('&')}`,
        headers: { authorization: `Bearer ${tenant.key}` },
      }),
      options,
    ),
  );

  checks.push(
    await property(
      stack,
      tally,
      'path ids',
      fc.tuple(
        fc.constantFrom(...ID_ROUTES),
        fc.oneof(
          urlPart,
          fc.uuid().map(String),
          fc.constantFrom(ids.clone, ids.batch, ids.endpoint),
        ),
      ),
      ([[method, path], id]) => ({
        method,
        path: path(id),
        headers: { authorization: `Bearer ${tenant.key}` },
      }),
      options,
    ),
  );

  checks.push(
    await property(
      stack,
      tally,
      'admin body',
      mutatedBody({ name: 'tenant' }, [['name']]),
      (body) => ({
        method: 'POST',
        path: '/admin/tenants',
        headers: { authorization: admin, 'content-type': 'application/json' },
        body: JSON.stringify(body) ?? 'null',
      }),
      { ...options, runs: Math.ceil(options.runs / 3) },
    ),
  );

  checks.push(...(await bigAndRawCases(stack, tenant, tally)));
  checks.push(envelopeCheck(tally), ...(await keepAliveChecks(stack, tenant)));
  return checks;
}

/** Sends bytes on a fresh socket and reads the raw answer (the cases node's client won't send). */
function rawExchange(port: number, bytes: Buffer | string, timeoutMs = 15_000): Promise<string> {
  return new Promise((resolve) => {
    const socket = connect(port, '127.0.0.1');
    const chunks: Buffer[] = [];
    const done = () => {
      clearTimeout(timer);
      socket.destroy();
      resolve(Buffer.concat(chunks).toString('utf8'));
    };
    const timer = setTimeout(done, timeoutMs);
    socket.on('data', (c: Buffer) => chunks.push(c));
    socket.on('end', done);
    socket.on('close', done);
    socket.on('error', done);
    socket.write(bytes);
  });
}

function parseRaw(text: string): { status: number; body: unknown } {
  const status = Number(/^HTTP\/1\.1 (\d{3})/.exec(text)?.[1] ?? 0);
  const body = text.slice(text.indexOf('\r\n\r\n') + 4);
  try {
    return { status, body: JSON.parse(body) };
  } catch {
    return { status, body: undefined };
  }
}

/** 10 MB bodies, a body over the limit, and requests malformed at the HTTP level. */
async function bigAndRawCases(stack: Stack, tenant: Tenant, tally: Tally): Promise<Check[]> {
  const tenMb = 10 * 1024 * 1024;
  const cases: Array<{ name: string; req: HttpRequest }> = [
    {
      name: '10 MB of text in one clone',
      req: {
        method: 'POST',
        path: '/v1/clones',
        ...json(tenant, { ...VALID_CLONE, text: 'x'.repeat(tenMb) }),
      },
    },
    {
      name: '10 MB of metadata',
      req: {
        method: 'POST',
        path: '/v1/clones',
        ...json(tenant, { ...VALID_CLONE, metadata: { blob: 'y'.repeat(tenMb) } }),
      },
    },
    {
      name: '10 MB batch of 40,000 lines (over the line limit)',
      req: {
        method: 'POST',
        path: '/v1/batches',
        ...json(tenant, {
          voice: VALID_BATCH.voice,
          lines: Array.from({ length: 40_000 }, (_, i) => ({ text: `${i} ${'z'.repeat(240)}` })),
        }),
      },
    },
    {
      name: '10 MB of invalid JSON',
      req: {
        method: 'POST',
        path: '/v1/batches',
        ...json(tenant, {}),
        body: `{"voice": ${'['.repeat(tenMb)}`,
      },
    },
    {
      name: '10 MB of nesting (5 million levels)',
      req: {
        method: 'POST',
        path: '/v1/clones',
        ...json(tenant, {}),
        body: `${'['.repeat(5 * 1024 * 1024)}${']'.repeat(5 * 1024 * 1024)}`,
      },
    },
    {
      name: '10 MB without an API key (refused before the body is read)',
      req: {
        method: 'POST',
        path: '/v1/batches',
        headers: { 'content-type': 'application/json' },
        body: `{"lines":"${'q'.repeat(tenMb)}"}`,
      },
    },
    {
      name: '17 MB, over BODY_LIMIT_BYTES (413)',
      req: {
        method: 'POST',
        path: '/v1/batches',
        ...json(tenant, {}),
        body: `{"lines":"${'q'.repeat(17 * 1024 * 1024)}"}`,
      },
    },
  ];
  const checks: Check[] = [];
  for (const { name, req } of cases) {
    const problem = await judge(stack, tally, { ...req, timeoutMs: 120_000 });
    checks.push(check(`big body: ${name}`, problem === null, problem ?? ''));
  }

  const port = stack.apiPort;
  const key = tenant.key;
  const cloneText = JSON.stringify(VALID_CLONE);
  const rawCases: Array<[string, string]> = [
    [
      'a header over 16 KB',
      `GET /v1/dead-letters HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer ${key}\r\nX-Big: ${'b'.repeat(20_000)}\r\n\r\n`,
    ],
    ['a malformed request line', 'GET /v1/clones HTTP/9.9 nonsense\r\n\r\n'],
    [
      'a NUL byte in a header',
      `GET /v1/dead-letters HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer ${key}\u0000\r\n\r\n`,
    ],
    [
      'content-length shorter than the body',
      `POST /v1/clones HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer ${key}\r\nContent-Type: application/json\r\nContent-Length: 5\r\nConnection: close\r\n\r\n{"audio":"x","text":"y"}`,
    ],
    [
      'UTF-8 bytes in the Idempotency-Key',
      `POST /v1/clones HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer ${key}\r\nContent-Type: application/json\r\nIdempotency-Key: ключ🙂\r\nContent-Length: ${Buffer.byteLength(cloneText)}\r\nConnection: close\r\n\r\n${cloneText}`,
    ],
    [
      'a request smuggling attempt (content-length and chunked)',
      `POST /v1/clones HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer ${key}\r\nContent-Type: application/json\r\nContent-Length: 4\r\nTransfer-Encoding: chunked\r\n\r\n0\r\n\r\nGET /admin/tenants HTTP/1.1\r\n\r\n`,
    ],
  ];
  for (const [name, bytes] of rawCases) {
    const before = await rowCounts(stack);
    const { status, body } = parseRaw(await rawExchange(port, bytes));
    const after = await rowCounts(stack);
    if (status >= 400 && !hasEnvelope(body)) {
      noteOffEnvelope(tally, status, body, `${JSON.stringify(body)?.slice(0, 160)} for ${name}`);
    }
    checks.push(
      check(
        `malformed HTTP: ${name} is refused with a 4xx, writing nothing`,
        status >= 400 && status < 500 && before === after,
        `${status} ${JSON.stringify(body)?.slice(0, 160) ?? '(no JSON body)'}`,
      ),
    );
  }
  return checks;
}

/**
 * Property-based fuzzing of every /v1 body, header, query string and path id, against the API
 * as a real process over HTTP: never a 5xx, always the JSON error envelope for a refusal, no
 * row written by a refused request, and the process still up at the end.
 */
export async function hostileInputScenario(
  env: Environment,
  options: HostileInputOptions,
): Promise<ScenarioResult> {
  const started = Date.now();
  const stack = await Stack.start(env, { name: 'hostile-input' });
  try {
    const api = await stack.startApi();
    const tenant = await stack.tenant('fuzzed');
    const clone = await stack.http.call('POST', '/v1/clones', {
      key: tenant.key,
      body: VALID_CLONE,
    });
    const batch = await stack.submitBatch(tenant, ['one', 'two']);
    const endpoint = await stack.http.call('POST', '/v1/webhook-endpoints', {
      key: tenant.key,
      body: VALID_ENDPOINT,
    });
    const ids: Ids = {
      clone: (clone.json as { id: string }).id,
      batch: batch.id,
      endpoint: (endpoint.json as { id: string }).id,
      missing: '0190a0b0-0000-7000-8000-000000000000',
    };
    const tally = newTally();
    const checks = await hostileInputChecks(stack, tenant, ids, options, tally);
    const alive = await waitFor(
      'the API to answer /healthz',
      async () => (await stack.http.call('GET', '/healthz')).status === 200,
      { timeoutMs: 10_000 },
    ).then(
      () => api.running,
      () => false,
    );
    const unhandled = (stack.api?.output() ?? '')
      .split('\n')
      .filter((l) => l.includes('"msg":"unhandled error"'));
    checks.push(
      check(
        'the API process stayed up and healthy',
        alive,
        alive ? '' : api.exit ? JSON.stringify(api.exit) : 'no /healthz',
      ),
      check(
        'the API logged no unhandled error',
        unhandled.length === 0,
        unhandled.slice(0, 2).join(' ').slice(0, 400),
      ),
      secretsCheck(stack),
    );
    const count5xx = Object.entries(tally.byStatus)
      .filter(([s]) => Number(s) >= 500)
      .reduce((n, [, v]) => n + v, 0);
    return {
      scenario: 'hostile-input',
      title: 'Hostile input (fast-check)',
      lines: tally.requests,
      faults: `${tally.requests} hostile requests`,
      faultCounts: tally.byStatus,
      // Not measured here: n/a in the report.
      lost: null,
      duplicates: null,
      ambiguous: null,
      recoveryMs: [],
      durationMs: Date.now() - started,
      outcomes: { '5xx answers': count5xx },
      checks,
      notes: [
        `Answers by status: ${JSON.stringify(tally.byStatus)}.`,
        ...tally.violations.map((v) => `Counterexample: ${v.slice(0, 400)}`),
      ],
    };
  } finally {
    await stack.close();
  }
}
