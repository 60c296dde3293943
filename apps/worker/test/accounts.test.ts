import { randomBytes } from 'node:crypto';
import { setTenantUpstreamAccount, tenantAccountId } from '@voxline/db';
import { keyLabel } from '@voxline/runninghub-sim';
import { waitFor } from '@voxline/testing';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type Harness, SIM_KEY, startHarness } from './harness.js';
import { addTenant, postLines, tasksByTenant } from './tenant-fixtures.js';

const OWN_KEY = 'own-key-of-tenant-one';
const NEW_KEY = 'new-key-of-tenant-one';
const ENCRYPTION_KEY = randomBytes(32);
const TEXT = 'A line spoken on whichever key its tenant has.';

describe("a tenant's own upstream key", () => {
  let h: Harness;
  let own: string;

  beforeAll(async () => {
    h = await startHarness({
      sim: {
        apiKeys: [SIM_KEY, OWN_KEY, NEW_KEY],
        maxInFlight: 10,
        durations: { baseMs: 300, perCharMs: 0, sigma: 0.2 },
      },
      env: { TENANT_KEY_ENCRYPTION_KEY: ENCRYPTION_KEY.toString('base64') },
    });
    own = await addTenant(h, 'own-key');
    await h.db.db.transaction((tx) =>
      setTenantUpstreamAccount(tx, {
        tenantId: own,
        upstream: { apiKey: OWN_KEY, maxInFlight: 2 },
        encryptionKey: ENCRYPTION_KEY,
      }),
    );
  });
  afterAll(async () => {
    await h?.close();
  });

  it('carries only its work, never more than its limit, while the shared key carries the rest', async () => {
    const ownIds = await postLines(h, own, Array(20).fill(TEXT));
    const sharedIds = (await h.submit(Array(20).fill(TEXT), { batch: true })).ids;
    const rows = await h.waitTerminal([...ownIds, ...sharedIds], 120_000);
    expect(rows.every((r) => r.status === 'succeeded')).toBe(true);

    const account = tenantAccountId(own, OWN_KEY);
    for (const row of rows) {
      expect(row.upstreamAccount).toBe(row.tenantId === own ? account : 'default');
    }
    const tasks = await tasksByTenant(h, [...ownIds, ...sharedIds]);
    expect(tasks).toHaveLength(40);
    for (const task of tasks) {
      expect(task.key).toBe(keyLabel(task.tenantId === own ? OWN_KEY : SIM_KEY));
    }
    const max = h.sim.stats().inFlight.max;
    expect(max[keyLabel(OWN_KEY)]).toBe(2);
    expect(max[keyLabel(SIM_KEY)]).toBe(3);
    expect(await (await h.runtime.context.accounts.get(account)).slots.inUse()).toBe(0);

    // Per tenant: slot-seconds on the account it used, and a wait observed for every submit.
    const { metrics } = h.runtime.context;
    const used = (await metrics.slotSeconds.get()).values;
    const usedBy = (tenant: string, on: string) =>
      used.find((v) => v.labels.tenant === tenant && v.labels.account === on)?.value ?? 0;
    expect(usedBy(own, account)).toBeGreaterThan(20 * 0.2);
    expect(usedBy(h.tenantId, 'default')).toBeGreaterThan(20 * 0.2);
    expect(usedBy(own, 'default')).toBe(0);
    const waits = (await metrics.slotWait.get()).values.filter(
      (v) => v.metricName === 'voxline_slot_wait_seconds_count' && v.labels.tenant === own,
    );
    expect(waits[0]?.value).toBe(20);
  }, 180_000);

  it('submits new lines with a changed key while the tasks already running finish on the old', async () => {
    const before = await postLines(h, own, Array(6).fill(TEXT));
    // Two tasks in flight on the old key (its limit), the rest waiting.
    await waitFor('two tasks running on the old key', async () =>
      (await h.jobs(before)).filter((r) => r.status === 'running').length === 2 ? true : undefined,
    );
    await h.db.db.transaction((tx) =>
      setTenantUpstreamAccount(tx, {
        tenantId: own,
        upstream: { apiKey: NEW_KEY, maxInFlight: 2 },
        encryptionKey: ENCRYPTION_KEY,
      }),
    );
    const after = await postLines(h, own, Array(4).fill(TEXT));
    const rows = await h.waitTerminal([...before, ...after], 120_000);
    expect(rows.every((r) => r.status === 'succeeded')).toBe(true);

    const oldAccount = tenantAccountId(own, OWN_KEY);
    const newAccount = tenantAccountId(own, NEW_KEY);
    const byId = new Map(rows.map((r) => [r.id, r]));
    for (const id of after) expect(byId.get(id)?.upstreamAccount).toBe(newAccount);
    // Those running at the change stayed on the old key; the ones waiting moved to the new.
    const onOld = before.filter((id) => byId.get(id)?.upstreamAccount === oldAccount);
    expect(onOld.length).toBeGreaterThanOrEqual(2);
    const tasks = await tasksByTenant(h, [...before, ...after]);
    for (const task of tasks) {
      const row = rows.find((r) => r.upstreamTaskId === task.taskId);
      expect(task.key).toBe(keyLabel(row?.upstreamAccount === oldAccount ? OWN_KEY : NEW_KEY));
    }
    expect(h.sim.stats().inFlight.max[keyLabel(NEW_KEY)]).toBeLessThanOrEqual(2);
    expect(h.sim.stats().inFlight.max[keyLabel(OWN_KEY)]).toBe(2);
  }, 180_000);
});
