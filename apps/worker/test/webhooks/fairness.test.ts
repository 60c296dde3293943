import { createServer, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { finishDelivery, getWebhookDelivery, newId } from '@voxline/db';
import { closeQueues, createQueues, type Queues } from '@voxline/queue';
import {
  createTestDatabase,
  createTestRedis,
  Receiver,
  type TestDatabase,
  type TestRedis,
  waitFor,
} from '@voxline/testing';
import {
  type AdmissionDeps,
  admitDeliveries,
  enqueueDeliveries,
  lanesOf,
  leaveLane,
  reconcileLanes,
} from '@voxline/webhooks';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type DeliveryRig, failCloneJob, newTenant, startDeliveryRig } from './harness.js';

/**
 * A receiver that takes requests and answers none of them until it recovers: the slow or hung
 * downstream system of one tenant. Counts the requests it holds open at once.
 */
class HangingReceiver {
  healthy = false;
  open = 0;
  maxOpen = 0;
  answered = 0;
  private readonly held = new Set<ServerResponse>();

  private constructor(private readonly server: Server) {}

  static async start(): Promise<HangingReceiver> {
    const server = createServer();
    const receiver = new HangingReceiver(server);
    server.on('request', (req, res) => {
      req.resume();
      if (receiver.healthy) {
        receiver.answered += 1;
        res.writeHead(200).end('ok');
        return;
      }
      receiver.open += 1;
      receiver.maxOpen = Math.max(receiver.maxOpen, receiver.open);
      receiver.held.add(res);
      res.on('close', () => {
        receiver.open -= 1;
        receiver.held.delete(res);
      });
    });
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    return receiver;
  }

  get url(): string {
    return `http://127.0.0.1:${(this.server.address() as AddressInfo).port}`;
  }

  async close(): Promise<void> {
    this.server.closeAllConnections();
    await new Promise((resolve) => this.server.close(resolve));
  }
}

const CAP = 5;
// Long enough that B's ten deliveries fit inside one of A's hung attempts on a loaded machine.
const ATTEMPT_TIMEOUT_MS = 2_500;

async function failedClones(db: TestDatabase, tenantId: string, url: string, count: number) {
  const ids: string[] = [];
  for (let i = 0; i < count; i += 1) {
    ids.push(...(await failCloneJob(db, tenantId, `${url}/hook/${i}`)).deliveryIds);
  }
  return ids;
}

describe('webhook deliveries shared fairly between tenants', () => {
  let db: TestDatabase;
  let rig: DeliveryRig;
  let hanging: HangingReceiver;
  let healthy: Receiver;
  let admission: AdmissionDeps;
  beforeAll(async () => {
    db = await createTestDatabase();
    rig = await startDeliveryRig(db, {
      WEBHOOK_TIMEOUT_MS: String(ATTEMPT_TIMEOUT_MS),
      // Four workers, fewer than A's queued jobs: unshared, A's first four would hold them all
      // for a whole attempt timeout. Shared, A has one attempt in flight.
      WEBHOOK_WORKER_CONCURRENCY: '4',
      WEBHOOK_MAX_PENDING_PER_TENANT: String(CAP),
      // Forty attempts a millisecond apart: enough to outlast the hang.
      WEBHOOK_RETRY_SCHEDULE: ['0', ...Array(39).fill('1')].join(','),
    });
    admission = {
      db: db.db,
      queues: rig.queues,
      redis: rig.redis.redis,
      maxPending: CAP,
    };
    hanging = await HangingReceiver.start();
    healthy = await Receiver.start();
  });
  afterAll(async () => {
    await rig.close();
    await hanging.close();
    await healthy.down();
    await db.drop();
  });

  const statusOf = async (tenantId: string, id: string) =>
    (await getWebhookDelivery(db.db, { tenantId, id }))?.status;

  it("delivers B's events while A's receiver hangs, and all of A's once it recovers", async () => {
    const a = await newTenant(db, 'hung');
    const b = await newTenant(db, 'prompt');
    const lanes = lanesOf(admission);
    const aIds = await failedClones(db, a.id, hanging.url, 3 * CAP);
    const bIds = await failedClones(db, b.id, healthy.url, 10);

    // A first, so its jobs are ahead of B's in the queue.
    expect(await admitDeliveries(admission, aIds)).toBe(CAP);
    expect(await lanes.queued(a.id)).toBe(CAP);
    const held = aIds.slice(CAP);
    for (const id of held) expect(await rig.queues.webhookDelivery.getJobState(id)).toBe('unknown');
    const started = Date.now();
    // B is over the cap too: its other five are admitted as its first ones arrive.
    expect(await admitDeliveries(admission, bIds)).toBe(CAP);

    await waitFor(
      "all of B's deliveries",
      async () => {
        for (const id of bIds) if ((await statusOf(b.id, id)) !== 'succeeded') return false;
        return true;
      },
      { timeoutMs: 2 * ATTEMPT_TIMEOUT_MS, intervalMs: 20 },
    );
    // Before A's first attempt has even timed out: B did not wait behind A.
    expect(Date.now() - started).toBeLessThan(ATTEMPT_TIMEOUT_MS);
    for (const id of aIds) expect(await statusOf(a.id, id)).toBe('pending');
    expect(hanging.answered).toBe(0);

    // A keeps hanging for a while: never more than its share of attempts, nor of queued jobs.
    const hangUntil = started + 2 * ATTEMPT_TIMEOUT_MS;
    await waitFor(
      'a while of hanging',
      async () => {
        expect(await lanes.queued(a.id)).toBeLessThanOrEqual(CAP);
        expect(await lanes.active(a.id)).toBeLessThanOrEqual(1);
        return Date.now() > hangUntil;
      },
      { timeoutMs: 10_000, intervalMs: 25 },
    );
    expect(hanging.maxOpen).toBeGreaterThan(0);
    expect(hanging.maxOpen).toBe(1);
    for (const id of held) expect(await statusOf(a.id, id)).toBe('pending');

    hanging.healthy = true;
    await waitFor(
      "all of A's deliveries, the held-back ones included",
      async () => {
        expect(await lanes.queued(a.id)).toBeLessThanOrEqual(CAP);
        for (const id of aIds) if ((await statusOf(a.id, id)) !== 'succeeded') return false;
        return true;
      },
      { timeoutMs: 20_000, intervalMs: 25 },
    );
    expect(await lanes.queued(a.id)).toBe(0);
    expect(await lanes.queued(b.id)).toBe(0);
    expect(rig.failures.filter((e) => e.name !== 'UnrecoverableError')).toEqual([]);
  });

  it('holds jobs queued past the admission to the cap too, and delivers every one', async () => {
    const tenant = await newTenant(db, 'bypass');
    const lanes = lanesOf(admission);
    // The lane is full: of deliveries that will not end by themselves (say their jobs were
    // lost with a worker), until one is found gone.
    const stuck = Array.from({ length: CAP }, () => newId());
    expect(await lanes.admit(tenant.id, stuck, CAP)).toEqual(stuck);
    const ids = await failedClones(db, tenant.id, healthy.url, 2 * CAP);
    // A producer that queues every job itself: each job, run, finds no room and ends.
    await enqueueDeliveries(rig.queues, ids);
    await waitFor('every job run and held back', async () => {
      for (const id of ids) {
        if ((await rig.queues.webhookDelivery.getJobState(id)) !== 'completed') return false;
      }
      return true;
    });
    for (const id of ids) expect(await statusOf(tenant.id, id)).toBe('pending');
    expect(healthy.requests.filter((r) => r.path.startsWith('/hook'))).toHaveLength(
      healthy.requests.length,
    );
    const before = healthy.requests.length;

    // One place frees: the held-back deliveries go through it one after another.
    await leaveLane(admission, tenant.id, stuck[0] as string);
    await waitFor(
      'every delivery, through the lane, and the lane left as it was found',
      async () => {
        const queued = await lanes.queued(tenant.id);
        expect(queued).toBeLessThanOrEqual(CAP);
        for (const id of ids) if ((await statusOf(tenant.id, id)) !== 'succeeded') return false;
        return queued === CAP - 1 && !(await lanes.isBacklogged(tenant.id));
      },
      { timeoutMs: 20_000, intervalMs: 10 },
    );
    expect(healthy.requests.length - before).toBe(2 * CAP);
  });
});

describe('the reconciler keeps the lanes within their caps', () => {
  let db: TestDatabase;
  let redis: TestRedis;
  let queues: Queues;
  let admission: AdmissionDeps;
  beforeAll(async () => {
    db = await createTestDatabase();
    redis = await createTestRedis();
    // Queues and no worker: what the reconciler finds is what was left.
    queues = createQueues(redis.redis, redis.prefix);
    admission = { db: db.db, queues, redis: redis.redis, maxPending: 2 };
  });
  afterAll(async () => {
    await closeQueues(queues);
    await redis.cleanup();
    await db.drop();
  });

  it('drops entries of ended deliveries, re-queues lost jobs and admits the backlog within the cap', async () => {
    const tenant = await newTenant(db, 'crashy');
    const lanes = lanesOf(admission);
    const [first, second, third, fourth] = (await failedClones(
      db,
      tenant.id,
      'http://127.0.0.1:9',
      4,
    )) as [string, string, string, string];
    expect(await admitDeliveries(admission, [first, second, third, fourth])).toBe(2);
    expect(await lanes.isBacklogged(tenant.id)).toBe(true);

    // A worker ended `first` and died before leaving the lane; Redis lost `second`'s job.
    await finishDelivery(db.db, {
      tenantId: tenant.id,
      id: first,
      status: 'succeeded',
      statusCode: 200,
      error: null,
      at: new Date(),
    });
    await queues.webhookDelivery.remove(second);

    const report = await reconcileLanes(admission, {
      olderThan: new Date(Date.now() + 1_000),
      limit: 100,
    });
    expect(report.released).toBe(1);
    // `second` got its job back and `third` took the room `first` left; `fourth` waits.
    expect(report.requeued + report.admitted).toBe(2);
    expect(await lanes.inLane(tenant.id, [first, second, third, fourth])).toEqual([
      false,
      true,
      true,
      false,
    ]);
    expect(await queues.webhookDelivery.getJobState(second)).toBe('waiting');
    expect(await queues.webhookDelivery.getJobState(third)).toBe('waiting');
    expect(await queues.webhookDelivery.getJobState(fourth)).toBe('unknown');
    // Run again, nothing changes: the lane is full and its jobs are live.
    expect(
      await reconcileLanes(admission, { olderThan: new Date(Date.now() + 1_000), limit: 100 }),
    ).toEqual({ requeued: 0, released: 0, admitted: 0 });
  });
});
