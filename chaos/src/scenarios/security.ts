import { randomBytes } from 'node:crypto';
import { waitFor } from '@voxline/testing/wait';
import type { HttpResponse } from '../infra/http.js';
import { WebhookReceiver } from '../infra/receiver.js';
import { type Check, check } from '../observe.js';
import { type ScenarioResult, unmeasuredResult } from '../report.js';
import { AUDIO_URL, type Environment, Stack, type Tenant, VOICE_ID } from '../stack.js';
import { narration, secretsCheck } from './common.js';

export interface SecurityOptions {
  seed: number;
}

/** Addresses a reference-audio or webhook URL must never point at. */
export const PRIVATE_HOSTS = [
  '127.0.0.1',
  '127.1',
  '0.0.0.0',
  '10.0.0.1',
  '172.16.0.1',
  '192.168.1.1',
  '169.254.169.254',
  '100.64.0.1',
  '224.0.0.1',
  '255.255.255.255',
  '[::1]',
  '[::]',
  '[::ffff:127.0.0.1]',
  '[fd00::1]',
  '[fe80::1]',
  // 127.0.0.1 in decimal, hex and octal: WHATWG URL parsing turns each into 127.0.0.1.
  '2130706433',
  '0x7f000001',
  '017700000001',
];

function status(res: HttpResponse): string {
  return `${res.status}`;
}

interface Owned {
  clone: string;
  failedClone: string;
  batch: string;
  endpoint: string;
  deadLetter: string;
  delivery: string;
  idempotencyKey: string;
}

/**
 * Tenant A's resources are asked for, canceled, deleted, redriven and listed by tenant B, route
 * by route: every id route answers 404 (as for an id that does not exist), every list leaves
 * them out, every bulk action leaves them alone.
 */
async function isolationChecks(stack: Stack, a: Tenant, b: Tenant, owned: Owned): Promise<Check[]> {
  const as = (method: string, path: string, body?: unknown) =>
    stack.http.call(method, path, { key: b.key, ...(body !== undefined ? { body } : {}) });
  const checks: Check[] = [];
  const idRoutes: Array<[string, string]> = [
    ['GET', `/v1/clones/${owned.clone}`],
    ['POST', `/v1/clones/${owned.clone}/cancel`],
    ['GET', `/v1/batches/${owned.batch}`],
    ['GET', `/v1/batches/${owned.batch}/clones`],
    ['POST', `/v1/batches/${owned.batch}/cancel`],
    ['GET', `/v1/webhook-endpoints/${owned.endpoint}`],
    ['DELETE', `/v1/webhook-endpoints/${owned.endpoint}`],
    ['POST', `/v1/webhook-deliveries/${owned.delivery}/redeliver`],
  ];
  for (const [method, path] of idRoutes) {
    const res = await as(method, path);
    const code = (res.json as { error?: { code?: string } } | undefined)?.error?.code;
    checks.push(
      check(
        `isolation: ${method} ${path.replace(/[0-9a-f-]{36}/g, ':id')} with another tenant's id is 404`,
        res.status === 404 && code === 'not_found',
        `${res.status} ${res.text.slice(0, 120)}`,
      ),
    );
  }

  const mentions = (res: HttpResponse, ...ids: string[]) => ids.some((id) => res.text.includes(id));
  const lists: Array<[string, HttpResponse]> = [
    ['GET /v1/dead-letters', await as('GET', '/v1/dead-letters?include_redriven=true')],
    ['GET /v1/dead-letters?batch_id=', await as('GET', `/v1/dead-letters?batch_id=${owned.batch}`)],
    ['GET /v1/webhook-endpoints', await as('GET', '/v1/webhook-endpoints')],
    ['GET /v1/webhook-deliveries', await as('GET', '/v1/webhook-deliveries')],
    [
      'GET /v1/webhook-deliveries?clone_id=',
      await as('GET', `/v1/webhook-deliveries?clone_id=${owned.failedClone}`),
    ],
    [
      'GET /v1/webhook-deliveries?batch_id=',
      await as('GET', `/v1/webhook-deliveries?batch_id=${owned.batch}`),
    ],
  ];
  for (const [name, res] of lists) {
    checks.push(
      check(
        `isolation: ${name} lists nothing of another tenant`,
        res.status === 200 &&
          !mentions(
            res,
            owned.clone,
            owned.failedClone,
            owned.batch,
            owned.endpoint,
            owned.deadLetter,
            owned.delivery,
          ),
        `${res.status} ${res.text.slice(0, 120)}`,
      ),
    );
  }

  const redrives: Array<[string, unknown]> = [
    ['ids (dead letter)', { ids: [owned.deadLetter] }],
    ['ids (clone)', { ids: [owned.failedClone] }],
    ['batch_id', { batch_id: owned.batch }],
    ['error_code', { error_code: '1505' }],
  ];
  for (const [name, body] of redrives) {
    const res = await as('POST', '/v1/dead-letters/redrive', body);
    const redriven = (res.json as { redriven?: number } | undefined)?.redriven;
    checks.push(
      check(
        `isolation: redrive by ${name} does not touch another tenant's dead letters`,
        res.status === 200 && redriven === 0,
        `${res.status} ${res.text.slice(0, 120)}`,
      ),
    );
  }

  // The same Idempotency-Key and body in another tenant is another request.
  const replay = await stack.http.call('POST', '/v1/clones', {
    key: b.key,
    body: { audio: AUDIO_URL, custom_voice_id: VOICE_ID, text: 'Idempotent line.' },
    headers: { 'idempotency-key': owned.idempotencyKey },
  });
  checks.push(
    check(
      "isolation: another tenant's Idempotency-Key does not replay its clone",
      replay.status === 202 && (replay.json as { id?: string }).id !== owned.clone,
      `${replay.status} ${replay.text.slice(0, 120)}`,
    ),
  );

  // And A's things are as they were.
  const own = (path: string) => stack.http.call('GET', path, { key: a.key });
  const clone = await own(`/v1/clones/${owned.clone}`);
  const endpoint = await own(`/v1/webhook-endpoints/${owned.endpoint}`);
  const letters = await own('/v1/dead-letters');
  checks.push(
    check(
      "isolation: the owner's clone, endpoint and dead letter are untouched",
      (clone.json as { status?: string }).status !== 'canceled' &&
        endpoint.status === 200 &&
        mentions(letters, owned.deadLetter),
      `clone ${(clone.json as { status?: string }).status}, endpoint ${endpoint.status}, dead letter listed ${mentions(letters, owned.deadLetter)}`,
    ),
  );
  return checks;
}

/** Every /v1 route refuses a missing, malformed, unknown or tampered key with 401. */
async function authChecks(stack: Stack, owned: Owned, a: Tenant): Promise<Check[]> {
  const routes: Array<[string, string]> = [
    ['POST', '/v1/clones'],
    ['GET', `/v1/clones/${owned.clone}`],
    ['POST', `/v1/clones/${owned.clone}/cancel`],
    ['POST', '/v1/batches'],
    ['GET', `/v1/batches/${owned.batch}`],
    ['GET', `/v1/batches/${owned.batch}/clones`],
    ['POST', `/v1/batches/${owned.batch}/cancel`],
    ['GET', '/v1/dead-letters'],
    ['POST', '/v1/dead-letters/redrive'],
    ['POST', '/v1/webhook-endpoints'],
    ['GET', '/v1/webhook-endpoints'],
    ['GET', `/v1/webhook-endpoints/${owned.endpoint}`],
    ['DELETE', `/v1/webhook-endpoints/${owned.endpoint}`],
    ['GET', '/v1/webhook-deliveries'],
    ['POST', `/v1/webhook-deliveries/${owned.delivery}/redeliver`],
    ['POST', '/v1/webhook-secret/rotate'],
  ];
  const credentials: Array<[string, Record<string, string>]> = [
    ['no credential', {}],
    ['an unknown key', { authorization: `Bearer vxl_${randomBytes(32).toString('base64url')}` }],
    [
      'a tampered key',
      { authorization: `Bearer ${a.key.slice(0, -2)}${a.key.endsWith('A') ? 'BB' : 'AA'}` },
    ],
    ['the admin token', { authorization: `Bearer ${stack.adminToken}` }],
    [
      'Basic with the key',
      { authorization: `Basic ${Buffer.from(`x:${a.key}`).toString('base64')}` },
    ],
  ];
  const wrong: string[] = [];
  for (const [method, path] of routes) {
    for (const [label, headers] of credentials) {
      const res = await stack.http.call(method, path, {
        headers,
        ...(method === 'POST' ? { body: {} } : {}),
      });
      if (res.status !== 401) wrong.push(`${method} ${path} with ${label}: ${res.status}`);
    }
  }
  return [
    check(
      `every /v1 route (${routes.length}) refuses a missing, unknown, tampered or non-tenant credential with 401`,
      wrong.length === 0,
      wrong.slice(0, 6).join('; ') || `${routes.length * credentials.length} requests`,
    ),
  ];
}

/** Admin routes, Bull Board and /metrics, as documented (README, apps/api/README.md). */
async function operatorChecks(
  stack: Stack,
  tenant: Tenant,
  tokens: { readonly: string; metrics: string },
): Promise<Check[]> {
  const basic = (user: string, pass: string) =>
    `Basic ${Buffer.from(`${user}:${pass}`).toString('base64')}`;
  const get = (path: string, authorization?: string) =>
    stack.http.call('GET', path, authorization ? { headers: { authorization } } : {});
  const createTenant = (authorization?: string) =>
    stack.http.call('POST', '/admin/tenants', {
      body: { name: 'probe' },
      ...(authorization ? { headers: { authorization } } : {}),
    });
  const checks: Check[] = [];
  const refused = async (what: string, run: () => Promise<HttpResponse>) => {
    const res = await run();
    checks.push(check(what, res.status === 401, `${status(res)} ${res.text.slice(0, 100)}`));
  };
  await refused('admin: POST /admin/tenants refuses anonymous access (401)', () => createTenant());
  await refused('admin: POST /admin/tenants refuses a wrong token', () =>
    createTenant('Bearer not-the-admin-token-at-all'),
  );
  await refused('admin: POST /admin/tenants refuses a tenant API key', () =>
    createTenant(`Bearer ${tenant.key}`),
  );
  await refused('admin: POST /admin/tenants refuses Basic with another user', () =>
    createTenant(basic('root', stack.adminToken)),
  );
  const readonly = await createTenant(`Bearer ${tokens.readonly}`);
  checks.push(
    check(
      'admin: the read-only token cannot create tenants',
      readonly.status === 401 || readonly.status === 403,
      `${readonly.status}`,
    ),
  );

  await refused('Bull Board: GET /admin/queues refuses anonymous access (401)', () =>
    get('/admin/queues'),
  );
  await refused('Bull Board: its JSON API refuses anonymous access (401)', () =>
    get('/admin/queues/api/queues'),
  );
  await refused('Bull Board: refuses Basic admin with a wrong password', () =>
    get('/admin/queues', basic('admin', 'wrong-password-123')),
  );
  await refused('Bull Board: refuses a tenant API key', () =>
    get('/admin/queues', `Bearer ${tenant.key}`),
  );
  for (const [what, authorization] of [
    ['Basic admin:ADMIN_TOKEN', basic('admin', stack.adminToken)],
    ['Bearer ADMIN_TOKEN', `Bearer ${stack.adminToken}`],
    ['Bearer ADMIN_READONLY_TOKEN', `Bearer ${tokens.readonly}`],
  ] as const) {
    const res = await get('/admin/queues', authorization);
    checks.push(check(`Bull Board: opens with ${what}`, res.status === 200, `${res.status}`));
  }

  await refused(
    'metrics: GET /metrics refuses anonymous access when METRICS_TOKEN is set (401)',
    () => get('/metrics'),
  );
  await refused('metrics: refuses a wrong token', () =>
    get('/metrics', 'Bearer wrong-metrics-token-123'),
  );
  await refused('metrics: refuses a tenant API key', () => get('/metrics', `Bearer ${tenant.key}`));
  const metrics = await get('/metrics', `Bearer ${tokens.metrics}`);
  checks.push(
    check(
      'metrics: answers Prometheus text with Bearer METRICS_TOKEN',
      metrics.status === 200 && String(metrics.headers['content-type']).startsWith('text/plain'),
      `${metrics.status} ${metrics.headers['content-type']}`,
    ),
  );
  return checks;
}

/** Reference-audio and webhook URLs into private ranges are refused, naming the field. */
async function targetChecks(stack: Stack, tenant: Tenant, receiverUrl: string): Promise<Check[]> {
  const wrong: string[] = [];
  let requests = 0;
  const expectRefused = async (path: string, body: unknown, field: string) => {
    requests += 1;
    const res = await stack.http.call('POST', path, { key: tenant.key, body });
    const details = (
      res.json as { error?: { code?: string; details?: Array<{ path: string; message: string }> } }
    )?.error;
    const named = details?.details?.find((d) => d.path === field);
    if (res.status !== 400 || details?.code !== 'validation_error' || !named) {
      wrong.push(
        `${path} ${field}=${JSON.stringify(body).slice(0, 100)} -> ${res.status} ${res.text.slice(0, 120)}`,
      );
    }
  };
  const before = await stack.db.pool.query<{ n: string }>(
    'select (select count(*) from clone_jobs) + (select count(*) from webhook_endpoints) as n',
  );
  for (const host of PRIVATE_HOSTS) {
    const url = `http://${host}/voices/a.wav`;
    const hook = `http://${host}:8080/hook`;
    const clone = { audio: AUDIO_URL, custom_voice_id: VOICE_ID, text: 'Private?' };
    await expectRefused('/v1/clones', { ...clone, audio: url }, 'audio');
    await expectRefused('/v1/clones', { ...clone, webhook_url: hook }, 'webhook_url');
    const batch = {
      voice: { audio: AUDIO_URL, custom_voice_id: VOICE_ID },
      lines: [{ text: 'x' }],
    };
    await expectRefused(
      '/v1/batches',
      { ...batch, voice: { ...batch.voice, audio: url } },
      'voice.audio',
    );
    await expectRefused(
      '/v1/batches',
      // A line's own audio is a clone field: only one-clone-a-line batches take it.
      { ...batch, per_line_clone: true, lines: [{ text: 'x' }, { text: 'y', audio: url }] },
      'lines.1.audio',
    );
    await expectRefused('/v1/batches', { ...batch, webhook_url: hook }, 'webhook_url');
    await expectRefused('/v1/webhook-endpoints', { url: hook }, 'url');
  }
  // localhost resolves to loopback: refused for audio. (It is on the webhook allowlist of this
  // stack, so that the receiver can be reached: an operator's explicit exemption.)
  await expectRefused(
    '/v1/clones',
    { audio: 'http://localhost/a.wav', custom_voice_id: VOICE_ID, text: 'x' },
    'audio',
  );
  const after = await stack.db.pool.query<{ n: string }>(
    'select (select count(*) from clone_jobs) + (select count(*) from webhook_endpoints) as n',
  );
  const accepted = await stack.http.call('POST', '/v1/webhook-endpoints', {
    key: tenant.key,
    body: { url: receiverUrl, event_types: ['batch.completed'] },
  });
  return [
    check(
      `private-range URLs (${PRIVATE_HOSTS.length} hosts, 6 fields) are refused with 400 naming the field`,
      wrong.length === 0,
      wrong.slice(0, 4).join('; ') || `${requests} requests`,
    ),
    check(
      'refused URLs wrote nothing',
      before.rows[0]?.n === after.rows[0]?.n,
      `${before.rows[0]?.n} -> ${after.rows[0]?.n}`,
    ),
    check(
      'an allowlisted host is still accepted (the guard is not a blanket refusal)',
      accepted.status === 201,
      `${accepted.status}`,
    ),
  ];
}

/**
 * Every delivery the outbox recorded arrived once, signed, after its first attempt was refused
 * (500); and the endpoint that subscribes to everything heard of every line and the batch of
 * the tenant, a count that does not come from the deliveries table.
 */
async function deliveryChecks(
  stack: Stack,
  receiver: WebhookReceiver,
  tenant: Tenant,
  batchId: string,
  endpointUrl: string,
): Promise<Check[]> {
  const { rows: deliveries } = await stack.db.pool.query<{
    url: string;
    event_id: string;
    status: string;
  }>('select url, event_id, status from webhook_deliveries');
  const wrong: string[] = [];
  for (const d of deliveries) {
    const path = new URL(d.url).pathname;
    const answers = receiver.answers(path, d.event_id);
    const accepted = receiver.received.filter((r) => r.path === path && r.id === d.event_id);
    const ok =
      d.status === 'succeeded' &&
      answers[0] === 500 &&
      accepted.length === 1 &&
      accepted[0]?.verified === true;
    if (!ok) {
      wrong.push(
        `${d.event_id} to ${path}: ${d.status}, answered ${answers.join(',') || 'never sent'}, ${accepted.filter((r) => r.verified).length} of ${accepted.length} accepted verified`,
      );
    }
  }
  const { rows: lines } = await stack.db.pool.query<{ id: string }>(
    'select id from clone_jobs where tenant_id = $1',
    [tenant.id],
  );
  const endpointPath = new URL(endpointUrl).pathname;
  const heard = new Set(
    receiver.received
      .filter((r) => r.path === endpointPath)
      .map((r) => (JSON.parse(r.body) as { data?: { id?: string } }).data?.id),
  );
  const unheard = [...lines.map((l) => l.id), batchId].filter((id) => !heard.has(id));
  return [
    check(
      'every webhook delivery arrived once and verifies, each after its refused first attempt',
      deliveries.length > 0 && wrong.length === 0,
      wrong.length
        ? `${wrong.length} of ${deliveries.length}: ${wrong.slice(0, 3).join('; ')}`
        : `${deliveries.length} deliveries`,
    ),
    check(
      'no webhook was accepted beyond the recorded deliveries',
      receiver.received.length === deliveries.length,
      `${receiver.received.length} accepted, ${deliveries.length} deliveries`,
    ),
    check(
      "the catch-all endpoint heard every line's terminal event and batch.completed",
      unheard.length === 0,
      unheard.length ? `not heard: ${unheard.join(', ')}` : `${lines.length} lines and the batch`,
    ),
  ];
}

/**
 * Security, end to end on real processes: tenant isolation on every /v1 route, 401 for every
 * route without a valid key, admin routes, Bull Board and /metrics closed to anonymous callers,
 * SSRF-prone URLs refused, and, over a whole run that creates tenants, uses keys, delivers
 * signed webhooks (each first attempt answered 500, so retries run too) and hits errors, no
 * API key, webhook secret or token in any line the API or the workers logged.
 */
export async function securityScenario(
  env: Environment,
  options: SecurityOptions,
): Promise<ScenarioResult> {
  const started = Date.now();
  const tokens = {
    readonly: `chaos-readonly-${randomBytes(12).toString('hex')}`,
    metrics: `chaos-metrics-${randomBytes(12).toString('hex')}`,
  };
  const receiver = await WebhookReceiver.start({ failFirst: true });
  const stack = await Stack.start(env, {
    name: 'security',
    sim: { seed: options.seed, durations: { baseMs: 100, perCharMs: 1, sigma: 0.2 } },
    apiEnv: {
      LOG_LEVEL: 'debug',
      ADMIN_READONLY_TOKEN: tokens.readonly,
      METRICS_TOKEN: tokens.metrics,
    },
    workerEnv: { LOG_LEVEL: 'debug' },
  });
  try {
    await stack.startApi();
    await stack.startWorker();
    const a = await stack.tenant('tenant-a');
    const b = await stack.tenant('tenant-b');
    receiver.secrets.add(a.webhookSecret);
    receiver.secrets.add(b.webhookSecret);

    const endpoint = await stack.http.call('POST', '/v1/webhook-endpoints', {
      key: a.key,
      body: { url: receiver.url('endpoint'), description: 'tenant A' },
    });
    const idempotencyKey = `order-${randomBytes(4).toString('hex')}`;
    const clone = await stack.http.call('POST', '/v1/clones', {
      key: a.key,
      body: { audio: AUDIO_URL, custom_voice_id: VOICE_ID, text: 'Idempotent line.' },
      headers: { 'idempotency-key': idempotencyKey },
    });
    const failed = await stack.http.call('POST', '/v1/clones', {
      key: a.key,
      // The simulator refuses this submit with 1505 (real person prohibited): a dead letter.
      body: {
        audio: AUDIO_URL,
        custom_voice_id: VOICE_ID,
        text: 'Refused upstream. [[sim:submit=1505]]',
      },
    });
    const batch = await stack.submitBatch(a, narration(3, 'security'), {
      webhookUrl: receiver.url('batch'),
    });
    await stack.submitBatch(b, narration(2, 'tenant B'));
    const ids = {
      clone: (clone.json as { id: string }).id,
      failedClone: (failed.json as { id: string }).id,
      endpoint: (endpoint.json as { id: string }).id,
    };

    const deadLetter = await waitFor(
      "tenant A's dead letter",
      async () => {
        const res = await stack.http.call('GET', '/v1/dead-letters', { key: a.key });
        return (res.json as { data: Array<{ id: string }> }).data[0]?.id;
      },
      { timeoutMs: 60_000, intervalMs: 200 },
    );
    const delivery = await waitFor(
      "tenant A's deliveries, retried and delivered",
      async () => {
        const res = await stack.http.call(
          'GET',
          `/v1/webhook-deliveries?clone_id=${ids.failedClone}`,
          {
            key: a.key,
          },
        );
        const data = (res.json as { data: Array<{ id: string; status: string }> }).data;
        return data.length > 0 && data.every((d) => d.status === 'succeeded')
          ? data[0]?.id
          : undefined;
      },
      { timeoutMs: 60_000, intervalMs: 200 },
    );
    // A rotation issues a secret that must stay out of the logs too.
    const rotated = await stack.http.call('POST', '/v1/webhook-secret/rotate', { key: a.key });
    const secret = (rotated.json as { secret?: string }).secret;
    if (secret) {
      stack.secrets.set('rotated webhook secret of tenant-a', secret);
      receiver.secrets.add(secret);
    }
    const owned: Owned = { ...ids, batch: batch.id, deadLetter, delivery, idempotencyKey };

    const checks: Check[] = [
      ...(await operatorChecks(stack, a, tokens)),
      ...(await authChecks(stack, owned, a)),
      ...(await isolationChecks(stack, a, b, owned)),
      ...(await targetChecks(stack, a, receiver.url('allowlisted'))),
    ];
    // Every line ends, so that every delivery has been attempted before the logs are read.
    await waitFor(
      'every line to finish and every delivery to be made',
      async () => {
        const { rows } = await stack.db.pool.query<{ active: string; pending: string }>(
          `select (select count(*) from clone_jobs where status in ('queued','submitting','running')) as active,
                  (select count(*) from webhook_deliveries where status = 'pending') as pending`,
        );
        return rows[0]?.active === '0' && rows[0]?.pending === '0';
      },
      { timeoutMs: 60_000, intervalMs: 200 },
    ).catch(() => undefined);
    checks.push(
      ...(await deliveryChecks(stack, receiver, a, batch.id, receiver.url('endpoint'))),
      check(
        'the run logged (the secrets check reads real logs)',
        stack.logs().includes('request completed') && stack.logs().includes('worker started'),
        `${stack.logs().length} characters of logs`,
      ),
      secretsCheck(stack),
    );
    const { rows } = await stack.db.pool.query<{ n: string }>(
      'select count(*) as n from clone_jobs',
    );
    // Not measured here: n/a in the report.
    return unmeasuredResult(
      {
        scenario: 'security',
        title: 'Security',
        lines: Number(rows[0]?.n ?? 0),
        faults: 'isolation, auth, operator routes, private URLs, secrets in logs',
        faultCounts: {
          'webhooks received': receiver.received.length,
          'secrets checked': stack.secrets.size,
          'log characters read': stack.logs().length,
        },
        checks,
      },
      started,
    );
  } finally {
    await stack.close();
    await receiver.close();
  }
}
