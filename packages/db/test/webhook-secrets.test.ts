import { createTestDatabase, type TestDatabase } from '@voxline/testing';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createTenant, listRetiredWebhookSecrets, rotateWebhookSecret } from '../src/index.js';

describe('webhook secret rotation', () => {
  let db: TestDatabase;
  beforeAll(async () => {
    db = await createTestDatabase();
  });
  afterAll(async () => {
    await db.drop();
  });

  it('loses no secret when rotations race: each retires the one before it', async () => {
    const { tenant } = await createTenant(db.db, { name: 'racing' });
    const rotated = await Promise.all(
      Array.from({ length: 8 }, () =>
        rotateWebhookSecret(db.db, { id: tenant.id, graceMs: 60_000 }),
      ),
    );
    const issued = rotated.map((r) => r?.tenant.webhookSecret);
    const retired = await listRetiredWebhookSecrets(db.db, { tenantId: tenant.id });
    const [current] = (
      await db.pool.query('select webhook_secret from tenants where id = $1', [tenant.id])
    ).rows;
    // Every secret ever issued is either current or retired, exactly once.
    expect([...retired.map((r) => r.secret), current.webhook_secret].sort()).toEqual(
      [tenant.webhookSecret, ...issued].sort(),
    );
    expect(retired.every((r) => r.expiresAt.getTime() > Date.now())).toBe(true);
  });

  it('keeps expired secrets only until the next rotation', async () => {
    const { tenant } = await createTenant(db.db, { name: 'pruned' });
    await rotateWebhookSecret(db.db, { id: tenant.id, graceMs: 0 });
    expect(await listRetiredWebhookSecrets(db.db, { tenantId: tenant.id })).toHaveLength(1);
    const last = await rotateWebhookSecret(db.db, { id: tenant.id, graceMs: 60_000 });
    const retired = await listRetiredWebhookSecrets(db.db, { tenantId: tenant.id });
    expect(retired).toHaveLength(1);
    expect(retired[0]?.expiresAt).toEqual(last?.previousExpiresAt);
    expect(
      await rotateWebhookSecret(db.db, { id: '00000000-0000-7000-8000-000000000000', graceMs: 1 }),
    ).toBeNull();
  });
});
