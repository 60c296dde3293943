import { randomBytes } from 'node:crypto';
import { setTenantUpstreamAccount, tenantAccountId } from '@voxline/db';
import { keyLabel } from '@voxline/runninghub-sim';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type Harness, SIM_KEY, startHarness } from './harness.js';
import { tasksByTenant } from './tenant-fixtures.js';
import { createVoice, submitSpeech, waitVoice } from './voice-fixtures.js';

const FIRST_KEY = 'first-own-key-of-the-tenant';
const SECOND_KEY = 'second-own-key-of-the-tenant';
const ENCRYPTION_KEY = randomBytes(32);

describe('voices of a tenant with its own key', () => {
  let h: Harness;
  const giveKey = (apiKey: string) =>
    h.db.db.transaction((tx) =>
      setTenantUpstreamAccount(tx, {
        tenantId: h.tenantId,
        upstream: { apiKey, maxInFlight: 2 },
        encryptionKey: ENCRYPTION_KEY,
      }),
    );

  beforeAll(async () => {
    h = await startHarness({
      sim: { apiKeys: [SIM_KEY, FIRST_KEY, SECOND_KEY] },
      env: { TENANT_KEY_ENCRYPTION_KEY: ENCRYPTION_KEY.toString('base64') },
    });
  });
  afterAll(async () => {
    await h?.close();
  });

  it('clone on the key of their time and speak on it, whatever the tenant has since', async () => {
    await giveKey(FIRST_KEY);
    const first = tenantAccountId(h.tenantId, FIRST_KEY);
    const { voice } = await createVoice(h);
    const ready = await waitVoice(h, voice.id, 'ready');
    expect(ready.account).toBe(first);

    await giveKey(SECOND_KEY);
    const second = tenantAccountId(h.tenantId, SECOND_KEY);
    const { ids } = await submitSpeech(h, voice.id, ['Spoken by the first key.', 'And this.']);
    const system = await submitSpeech(h, null, ['A system voice.'], { systemVoice: 'Wise_Woman' });
    const rows = await h.waitTerminal([...ids, ...system.ids]);
    expect(rows.every((r) => r.status === 'succeeded')).toBe(true);
    for (const row of rows) {
      // A voice exists only for the key that cloned it; other lines take the tenant's current key.
      expect(row.upstreamAccount).toBe(ids.includes(row.id) ? first : second);
    }
    for (const task of await tasksByTenant(h, [...ids, ...system.ids])) {
      const row = rows.find((r) => r.upstreamTaskId === task.taskId);
      expect(task.key).toBe(keyLabel(row?.upstreamAccount === first ? FIRST_KEY : SECOND_KEY));
    }
    expect(h.sim.stats().inFlight.max[keyLabel(SIM_KEY)] ?? 0).toBe(0);
  }, 120_000);
});
