import { randomBytes } from 'node:crypto';
import { openSecret, tenantAccountId, tenants, upstreamAccounts } from '@voxline/db';
import { eq } from 'drizzle-orm';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ADMIN_TOKEN, type Api, startApi } from './harness.js';

const SEALING_KEY = randomBytes(32);
const admin = { authorization: `Bearer ${ADMIN_TOKEN}` };
const UPSTREAM_KEY = 'rh-tenant-key-0123456789abcdef';

describe('tenant settings and own upstream accounts', () => {
  let api: Api;
  let unsealed: Api;
  beforeAll(async () => {
    api = await startApi({ TENANT_KEY_ENCRYPTION_KEY: SEALING_KEY.toString('base64') });
    unsealed = await startApi();
  });
  afterAll(async () => {
    await api?.close();
    await unsealed?.close();
  });

  const asAdmin = (target: Api, method: 'GET' | 'POST' | 'PATCH', url: string, body?: unknown) =>
    target.request(method, url, { headers: admin, ...(body !== undefined ? { body } : {}) });
  const accountsOf = (tenantId: string) =>
    api.database.db.select().from(upstreamAccounts).where(eq(upstreamAccounts.tenantId, tenantId));

  it('creates a tenant on its own key, sealed at rest and never shown', async () => {
    const res = await asAdmin(api, 'POST', '/admin/tenants', {
      name: 'studio',
      weight: 3,
      requests_per_minute: 120,
      runninghub_api_key: UPSTREAM_KEY,
      runninghub_max_in_flight: 2,
    });
    expect(res.statusCode).toBe(201);
    expect(res.body).not.toContain(UPSTREAM_KEY);
    const created = res.json();
    expect(created).toMatchObject({
      object: 'tenant',
      name: 'studio',
      weight: 3,
      requests_per_minute: 120,
      max_pending_lines: null,
      upstream: { account: 'own', max_in_flight: 2 },
    });
    expect(created.tenant_id).toBe(created.id);
    const [account] = await accountsOf(created.id);
    expect(account?.id).toBe(tenantAccountId(created.id, UPSTREAM_KEY));
    expect(account?.apiKeySealed).not.toContain(UPSTREAM_KEY);
    expect(openSecret(account?.apiKeySealed ?? '', SEALING_KEY)).toBe(UPSTREAM_KEY);

    const read = await asAdmin(api, 'GET', `/admin/tenants/${created.id}`);
    expect(read.statusCode).toBe(200);
    expect(read.body).not.toContain(UPSTREAM_KEY);
    expect(read.json().upstream).toEqual({ account: 'own', max_in_flight: 2 });
  });

  it('replaces a key with a new account and retires the old one, then goes back to shared', async () => {
    const created = (
      await asAdmin(api, 'POST', '/admin/tenants', {
        name: 'rotating',
        runninghub_api_key: UPSTREAM_KEY,
      })
    ).json();
    expect(created.upstream).toEqual({ account: 'own', max_in_flight: 3 });

    const replaced = await asAdmin(api, 'PATCH', `/admin/tenants/${created.id}`, {
      runninghub_api_key: `${UPSTREAM_KEY}-new`,
    });
    expect(replaced.statusCode).toBe(200);
    // The limit carries over to the new key unless given.
    expect(replaced.json().upstream).toEqual({ account: 'own', max_in_flight: 3 });
    const accounts = await accountsOf(created.id);
    expect(accounts).toHaveLength(2);
    const live = accounts.filter((a) => a.retiredAt === null);
    expect(live.map((a) => a.id)).toEqual([tenantAccountId(created.id, `${UPSTREAM_KEY}-new`)]);

    const limited = await asAdmin(api, 'PATCH', `/admin/tenants/${created.id}`, {
      runninghub_max_in_flight: 7,
    });
    expect(limited.json().upstream).toEqual({ account: 'own', max_in_flight: 7 });

    const shared = await asAdmin(api, 'PATCH', `/admin/tenants/${created.id}`, {
      runninghub_api_key: null,
      weight: 2,
      requests_per_minute: null,
    });
    expect(shared.statusCode).toBe(200);
    expect(shared.json()).toMatchObject({
      weight: 2,
      requests_per_minute: null,
      upstream: { account: 'shared', max_in_flight: null },
    });
    expect((await accountsOf(created.id)).every((a) => a.retiredAt !== null)).toBe(true);
  });

  it('refuses bad settings naming the field, and changes nothing', async () => {
    const created = (await asAdmin(api, 'POST', '/admin/tenants', { name: 'strict' })).json();
    const cases: Array<[unknown, string]> = [
      [{ weight: 0 }, 'weight'],
      [{ weight: 1.5 }, 'weight'],
      [{ requests_per_minute: 'many' }, 'requests_per_minute'],
      [{ runninghub_api_key: 'short' }, 'runninghub_api_key'],
      [{ runninghub_api_key: null, runninghub_max_in_flight: 2 }, 'runninghub_max_in_flight'],
      [{ colour: 'blue' }, 'colour'],
    ];
    for (const [body, field] of cases) {
      const res = await asAdmin(api, 'PATCH', `/admin/tenants/${created.id}`, body);
      expect(res.statusCode, JSON.stringify(body)).toBe(400);
      expect(JSON.stringify(res.json().error.details)).toContain(field);
    }
    const noKey = await asAdmin(api, 'PATCH', `/admin/tenants/${created.id}`, {
      weight: 5,
      runninghub_max_in_flight: 2,
    });
    expect(noKey.statusCode).toBe(422);
    expect(noKey.json().error.code).toBe('no_own_key');
    // The weight in the same refused request was not applied either.
    expect((await asAdmin(api, 'GET', `/admin/tenants/${created.id}`)).json().weight).toBe(1);
    const unknown = await asAdmin(
      api,
      'PATCH',
      '/admin/tenants/0193c3d6-5c7e-7a51-9f0e-2b8f4c1d9e21',
      {
        weight: 2,
      },
    );
    expect(unknown.statusCode).toBe(404);
  });

  it('refuses a key it could not seal, before writing anything', async () => {
    const res = await asAdmin(unsealed, 'POST', '/admin/tenants', {
      name: 'nowhere',
      runninghub_api_key: UPSTREAM_KEY,
    });
    expect(res.statusCode).toBe(422);
    expect(res.json().error.code).toBe('key_encryption_not_configured');
    expect(res.body).not.toContain(UPSTREAM_KEY);
    expect(await unsealed.database.db.select().from(tenants)).toHaveLength(0);
  });
});
