import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ADMIN_TOKEN, type Api, startApi } from './harness.js';

const VIEWER_TOKEN = 'test-viewer-token-0123456789';
const admin = { authorization: `Bearer ${ADMIN_TOKEN}` };
const UNKNOWN_ID = '0193c3d6-5c7e-7a51-9f0e-2b8f4c1d9e21';

describe('admin routes for API keys', () => {
  let api: Api;
  beforeAll(async () => {
    api = await startApi({ ADMIN_READONLY_TOKEN: VIEWER_TOKEN });
  });
  afterAll(async () => {
    await api?.close();
  });

  const asAdmin = (method: 'GET' | 'POST', url: string) =>
    api.request(method, url, { headers: admin });
  const listKeys = async (tenantId: string) => {
    const res = await asAdmin('GET', `/admin/tenants/${tenantId}/api-keys`);
    expect(res.statusCode).toBe(200);
    return res.json().data as Array<Record<string, unknown>>;
  };
  const whoAmI = (key: string) => api.request('GET', '/v1/dead-letters', { key });

  it('issues another key, shown once, that works beside the first', async () => {
    const tenant = await api.tenant('rotating');
    const res = await asAdmin('POST', `/admin/tenants/${tenant.id}/api-keys`);
    expect(res.statusCode).toBe(201);
    const issued = res.json();
    expect(issued.api_key).toMatch(/^vxl_[A-Za-z0-9_-]{43}$/);
    expect(issued.api_key).not.toBe(tenant.key);
    expect(issued.tenant_id).toBe(tenant.id);
    expect(issued.prefix).toBe(issued.api_key.slice(0, 12));
    expect(issued.revoked_at).toBeNull();
    expect((await whoAmI(issued.api_key)).statusCode).toBe(200);
    expect((await whoAmI(tenant.key)).statusCode).toBe(200);

    const keys = await listKeys(tenant.id);
    expect(keys.map((k) => k.id)).toHaveLength(2);
    expect(keys[1]?.id).toBe(issued.id);
    // Id, prefix and dates: never the key or its hash.
    for (const key of keys) {
      expect(Object.keys(key).sort()).toEqual(
        ['created_at', 'id', 'prefix', 'revoked_at', 'tenant_id'].sort(),
      );
    }
    expect(JSON.stringify(keys)).not.toContain(issued.api_key);
    expect(JSON.stringify(keys)).not.toContain(tenant.key);
  });

  it('revokes a key: refused on the very next request, idempotently, the others untouched', async () => {
    const tenant = await api.tenant('revoking');
    const second = (await asAdmin('POST', `/admin/tenants/${tenant.id}/api-keys`)).json();
    const [first] = await listKeys(tenant.id);
    // A request just before the revocation succeeds; nothing may remember that.
    expect((await whoAmI(tenant.key)).statusCode).toBe(200);

    const revoke = () =>
      asAdmin('POST', `/admin/tenants/${tenant.id}/api-keys/${first?.id}/revoke`);
    const res = await revoke();
    expect(res.statusCode).toBe(200);
    const revokedAt = res.json().revoked_at as string;
    expect(Date.parse(revokedAt)).not.toBeNaN();

    const refused = await whoAmI(tenant.key);
    expect(refused.statusCode).toBe(401);
    expect(refused.json().error.message).toMatch(/revoked/);
    expect((await whoAmI(second.api_key)).statusCode).toBe(200);

    const again = await revoke();
    expect(again.statusCode).toBe(200);
    expect(again.json().revoked_at).toBe(revokedAt);
    const keys = await listKeys(tenant.id);
    expect(keys.map((k) => [k.id, k.revoked_at])).toEqual([
      [first?.id, revokedAt],
      [second.id, null],
    ]);
  });

  it("answers 404 for an unknown tenant or key, and for another tenant's key, changing nothing", async () => {
    const owner = await api.tenant('owner');
    const other = await api.tenant('other');
    const [ownerKey] = await listKeys(owner.id);

    for (const [method, url] of [
      ['POST', `/admin/tenants/${UNKNOWN_ID}/api-keys`],
      ['GET', `/admin/tenants/${UNKNOWN_ID}/api-keys`],
      ['POST', '/admin/tenants/not-a-uuid/api-keys'],
      ['POST', `/admin/tenants/${owner.id}/api-keys/${UNKNOWN_ID}/revoke`],
      ['POST', `/admin/tenants/${owner.id}/api-keys/not-a-uuid/revoke`],
      // The owner's key, asked for under the other tenant.
      ['POST', `/admin/tenants/${other.id}/api-keys/${ownerKey?.id}/revoke`],
    ] as const) {
      const res = await asAdmin(method, url);
      expect(res.statusCode, `${method} ${url}`).toBe(404);
      expect(res.json().error.code).toBe('not_found');
    }
    expect((await whoAmI(owner.key)).statusCode).toBe(200);
    expect((await listKeys(owner.id)).map((k) => k.revoked_at)).toEqual([null]);
    expect(await listKeys(other.id)).toHaveLength(1);
  });

  it('needs ADMIN_TOKEN: anonymous is 401, the read-only credential 403, a tenant key 401', async () => {
    const tenant = await api.tenant('guarded');
    const [key] = await listKeys(tenant.id);
    for (const [method, url] of [
      ['POST', `/admin/tenants/${tenant.id}/api-keys`],
      ['GET', `/admin/tenants/${tenant.id}/api-keys`],
      ['POST', `/admin/tenants/${tenant.id}/api-keys/${key?.id}/revoke`],
    ] as const) {
      for (const [authorization, status] of [
        [undefined, 401],
        [`Bearer ${tenant.key}`, 401],
        [`Bearer ${VIEWER_TOKEN}`, 403],
      ] as const) {
        const res = await api.request(method, url, {
          headers: authorization ? { authorization } : {},
        });
        expect(res.statusCode, `${method} ${url} ${authorization}`).toBe(status);
      }
    }
    expect(await listKeys(tenant.id)).toHaveLength(1);
    expect((await whoAmI(tenant.key)).statusCode).toBe(200);
  });
});
