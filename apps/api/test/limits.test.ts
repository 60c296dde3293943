import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ADMIN_TOKEN, type Api, counts, startApi } from './harness.js';

const admin = { authorization: `Bearer ${ADMIN_TOKEN}` };
const line = (text: string) => ({ system_voice: 'Wise_Woman', text });

describe('per-tenant limits', () => {
  let api: Api;
  beforeAll(async () => {
    api = await startApi({ TENANT_REQUESTS_PER_MINUTE: '1000', TENANT_MAX_PENDING_LINES: '1000' });
  });
  afterAll(async () => {
    await api?.close();
  });

  const tenantWith = async (name: string, settings: Record<string, unknown>) => {
    const tenant = await api.tenant(name);
    const res = await api.request('PATCH', `/admin/tenants/${tenant.id}`, {
      headers: admin,
      body: settings,
    });
    expect(res.statusCode).toBe(200);
    return tenant;
  };

  it('answers 429 with Retry-After past a tenant`s requests per minute, and serves others', async () => {
    const loud = await tenantWith('loud', { requests_per_minute: 5 });
    const quiet = await api.tenant('quiet');
    const statuses: number[] = [];
    for (let i = 0; i < 8; i++) {
      statuses.push((await api.request('GET', '/v1/voices', { key: loud.key })).statusCode);
    }
    expect(statuses).toEqual([200, 200, 200, 200, 200, 429, 429, 429]);
    const refused = await api.request('GET', '/v1/voices', { key: loud.key });
    expect(refused.statusCode).toBe(429);
    expect(Number(refused.headers['retry-after'])).toBeGreaterThan(0);
    expect(Number(refused.headers['retry-after'])).toBeLessThanOrEqual(60);
    expect(refused.json().error).toMatchObject({
      code: 'rate_limited',
      details: { limit: 5 },
    });
    expect((await api.request('GET', '/v1/voices', { key: quiet.key })).statusCode).toBe(200);
  });

  it('refuses a write before reading its body once the limit is reached', async () => {
    const tenant = await tenantWith('bursty', { requests_per_minute: 1 });
    expect((await api.request('GET', '/v1/voices', { key: tenant.key })).statusCode).toBe(200);
    const before = await counts(api.database);
    // Not JSON at all: a request that reached body parsing would be a 400.
    const res = await api.request('POST', '/v1/clones', {
      key: tenant.key,
      body: '{not json',
    });
    expect(res.statusCode).toBe(429);
    expect(await counts(api.database)).toEqual(before);
  });

  it('refuses lines beyond a tenant`s pending limit with 429, writing nothing', async () => {
    const tenant = await tenantWith('backlogged', { max_pending_lines: 3 });
    const first = await api.request('POST', '/v1/batches', {
      key: tenant.key,
      body: { system_voice: 'Calm_Woman', lines: [{ text: 'one' }, { text: 'two' }] },
    });
    expect(first.statusCode).toBe(202);
    const before = await counts(api.database);
    const over = await api.request('POST', '/v1/batches', {
      key: tenant.key,
      body: { system_voice: 'Calm_Woman', lines: [{ text: 'three' }, { text: 'four' }] },
    });
    expect(over.statusCode).toBe(429);
    expect(over.headers['retry-after']).toBeDefined();
    expect(over.json().error).toMatchObject({
      code: 'too_many_pending_lines',
      details: { limit: 3, pending: 2, adding: 2 },
    });
    const single = await api.request('POST', '/v1/clones', { key: tenant.key, body: line('3') });
    expect(single.statusCode).toBe(202);
    const full = await api.request('POST', '/v1/clones', { key: tenant.key, body: line('4') });
    expect(full.statusCode).toBe(429);
    expect((await counts(api.database)).jobs).toBe((before.jobs ?? 0) + 1);
    // Another tenant is not held back by this one's backlog.
    const other = await api.tenant('other');
    const free = await api.request('POST', '/v1/clones', { key: other.key, body: line('x') });
    expect(free.statusCode).toBe(202);
  });
});
