import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ADMIN_TOKEN, type Api, cloneBody, startApi } from './harness.js';

const basic = (user: string, password: string) =>
  `Basic ${Buffer.from(`${user}:${password}`).toString('base64')}`;

// What a hostile page can make a browser send along with the credential it has cached.
const FORGED: Array<Record<string, string>> = [
  { 'sec-fetch-site': 'cross-site' },
  { 'sec-fetch-site': 'same-site' },
  { origin: 'https://evil.example' },
  { origin: 'null' },
];

describe('cross-site writes (CSRF) are refused on every route, before the credential', () => {
  let api: Api;
  let tenant: { id: string; key: string };
  let keyId: string;
  beforeAll(async () => {
    api = await startApi();
    tenant = await api.tenant('csrf');
    const keys = await api.request('GET', `/admin/tenants/${tenant.id}/api-keys`, {
      headers: { authorization: `Bearer ${ADMIN_TOKEN}` },
    });
    keyId = keys.json().data[0].id;
  });
  afterAll(async () => {
    await api?.close();
  });

  const rows = async () => {
    const { rows } = await api.database.pool.query<{ tenants: string; keys: string; jobs: string }>(
      `select (select count(*) from tenants) as tenants,
              (select count(*) from api_keys where revoked_at is null) as keys,
              (select count(*) from clone_jobs) as jobs`,
    );
    return rows[0];
  };

  const writes = () => {
    const adminAuth = basic('admin', ADMIN_TOKEN);
    const tenantAuth = `Bearer ${tenant.key}`;
    return [
      { url: '/admin/tenants', authorization: adminAuth, body: { name: 'forged' } },
      { url: `/admin/tenants/${tenant.id}/api-keys`, authorization: adminAuth },
      { url: `/admin/tenants/${tenant.id}/api-keys/${keyId}/revoke`, authorization: adminAuth },
      { url: '/v1/dead-letters/redrive', authorization: tenantAuth, body: { error_code: '1011' } },
      { url: '/v1/clones', authorization: tenantAuth, body: cloneBody() },
      { url: '/v1/webhook-secret/rotate', authorization: tenantAuth },
    ];
  };

  it('answers 403 and changes nothing, with or without the credential', async () => {
    const before = await rows();
    for (const write of writes()) {
      for (const forged of FORGED) {
        for (const authorization of [write.authorization, undefined]) {
          const res = await api.app.inject({
            method: 'POST',
            url: write.url,
            headers: {
              ...(authorization ? { authorization } : {}),
              'content-type': 'application/json',
              ...forged,
            },
            payload: JSON.stringify(write.body ?? {}),
          });
          const label = `${write.url} ${JSON.stringify(forged)} ${authorization ? 'with' : 'without'} credential`;
          expect(res.statusCode, label).toBe(403);
          expect(res.json().error.code, label).toBe('forbidden');
        }
      }
    }
    expect(await rows()).toEqual(before);
    const stillValid = await api.request('GET', '/v1/dead-letters', { key: tenant.key });
    expect(stillValid.statusCode).toBe(200);
  });

  it('lets same-origin pages and scripts (no browser headers) write', async () => {
    const sameOrigin = await api.app.inject({
      method: 'POST',
      url: '/admin/tenants',
      headers: {
        authorization: basic('admin', ADMIN_TOKEN),
        'content-type': 'application/json',
        host: 'voxline.example',
        origin: 'https://voxline.example',
        'sec-fetch-site': 'same-origin',
      },
      payload: JSON.stringify({ name: 'from the docs page' }),
    });
    expect(sameOrigin.statusCode).toBe(201);
    const script = await api.request('POST', '/v1/dead-letters/redrive', {
      key: tenant.key,
      body: { error_code: '1011' },
    });
    expect(script.statusCode).toBe(200);
  });
});
