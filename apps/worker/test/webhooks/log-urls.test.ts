import { createLogger } from '@voxline/logger';
import { createTestDatabase, Receiver, type TestDatabase, waitFor } from '@voxline/testing';
import { enqueueDeliveries } from '@voxline/webhooks';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type DeliveryRig, failCloneJob, newTenant, startDeliveryRig } from './harness.js';

/**
 * Tenants put tokens in their webhook URLs. Whatever happens to a delivery, the worker's log
 * lines (the real pino output) name the target without its query string or credentials.
 */
describe('webhook URLs in the worker log', () => {
  let db: TestDatabase;
  let rig: DeliveryRig;
  let receiver: Receiver;
  let lines: string[];
  beforeAll(async () => {
    db = await createTestDatabase();
    lines = [];
    const logger = createLogger({
      name: 'webhook-log-test',
      level: 'debug',
      destination: { write: (line: string) => lines.push(line) },
    });
    rig = await startDeliveryRig(db, {}, undefined, logger);
    receiver = await Receiver.start();
  });
  afterAll(async () => {
    await receiver?.down();
    await rig?.close();
    await db?.drop();
  });

  const logged = (pattern: RegExp) =>
    waitFor(`a log line matching ${pattern}`, () => lines.find((l) => pattern.test(l)));

  it('keeps query strings and credentials out of every line', async () => {
    receiver.reply = (request) =>
      request.path.startsWith('/moved')
        ? { status: 302, headers: { location: 'https://elsewhere.example/cb?token=tok-redirect' } }
        : { status: 500, body: 'boom' };
    const tenant = await newTenant(db);
    const targets = {
      refused: 'http://10.0.0.1/hook?token=tok-private',
      credentials: `http://user:tok-password@127.0.0.1:${receiver.port}/hook?token=tok-userinfo`,
      redirected: `${receiver.url}/moved?token=tok-moved#tok-fragment`,
      failing: `${receiver.url}/hook?token=tok-failing`,
    };
    const ids: string[] = [];
    for (const url of Object.values(targets)) {
      ids.push(...(await failCloneJob(db, tenant.id, url)).deliveryIds);
    }
    await enqueueDeliveries(rig.queues, ids);

    // One line for each outcome, each naming its target bare.
    await logged(
      /"url":"http:\/\/10\.0\.0\.1\/hook".*retrying: target http:\/\/10\.0\.0\.1\/hook refused/,
    );
    await logged(
      new RegExp(`"url":"http://127\\.0\\.0\\.1:${receiver.port}/hook".*webhook delivery failed`),
    );
    await logged(/redirect to https:\/\/elsewhere\.example\/cb not followed/);
    await logged(new RegExp(`"url":"http://127\\.0\\.0\\.1:${receiver.port}/hook".*HTTP 500`));

    const all = lines.join('');
    for (const token of [
      'tok-private',
      'tok-password',
      'tok-userinfo',
      'tok-redirect',
      'tok-moved',
      'tok-fragment',
      'tok-failing',
    ]) {
      expect(all).not.toContain(token);
    }
  });
});
