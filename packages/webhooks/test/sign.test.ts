import { Webhook } from 'standardwebhooks';
import { describe, expect, it } from 'vitest';
import { signingSecrets, signWebhook } from '../src/index.js';

const secret = `whsec_${Buffer.from('a'.repeat(32)).toString('base64')}`;
const older = `whsec_${Buffer.from('b'.repeat(32)).toString('base64')}`;
const body = JSON.stringify({ type: 'clone.succeeded', timestamp: 'now', data: { id: 'x' } });

describe('signing', () => {
  it('verifies with the reference library, and fails once the body is altered', () => {
    const headers = signWebhook({ id: 'msg_1', timestamp: new Date(), body, secrets: [secret] });
    expect(headers['webhook-signature']).toMatch(/^v1,[A-Za-z0-9+/]+=*$/);
    expect(new Webhook(secret).verify(body, { ...headers })).toEqual(JSON.parse(body));
    expect(() => new Webhook(secret).verify(body.replace('x', 'y'), { ...headers })).toThrow();
    expect(() => new Webhook(secret).verify(body, { ...headers, 'webhook-id': 'msg_2' })).toThrow();
  });

  it('signs "id.timestamp.body" with HMAC-SHA256', async () => {
    const { createHmac } = await import('node:crypto');
    const timestamp = new Date('2025-01-01T00:00:00Z');
    const headers = signWebhook({ id: 'msg_1', timestamp, body, secrets: [secret] });
    const key = Buffer.from(secret.slice('whsec_'.length), 'base64');
    const expected = createHmac('sha256', key).update(`msg_1.1735689600.${body}`).digest('base64');
    expect(headers['webhook-timestamp']).toBe('1735689600');
    expect(headers['webhook-signature']).toBe(`v1,${expected}`);
  });

  it('carries both signatures during a rotation, each verifying with its own secret', () => {
    const headers = signWebhook({
      id: 'msg_1',
      timestamp: new Date(),
      body,
      secrets: [secret, older],
    });
    expect(headers['webhook-signature'].split(' ')).toHaveLength(2);
    expect(new Webhook(secret).verify(body, { ...headers })).toBeTruthy();
    expect(new Webhook(older).verify(body, { ...headers })).toBeTruthy();
    const stranger = `whsec_${Buffer.from('c'.repeat(32)).toString('base64')}`;
    expect(() => new Webhook(stranger).verify(body, { ...headers })).toThrow();
  });

  it('keeps each retired secret signing until its own expiry', () => {
    const oldest = `whsec_${Buffer.from('d'.repeat(32)).toString('base64')}`;
    const at = new Date('2025-01-01T00:00:00Z').getTime();
    const hour = 3_600_000;
    // Two rotations an hour apart, each with a two-hour grace.
    const retired = [
      { secret: older, expiresAt: new Date(at + 3 * hour) },
      { secret: oldest, expiresAt: new Date(at + 2 * hour) },
    ];
    expect(signingSecrets(secret, retired, new Date(at + hour + 1))).toEqual([
      secret,
      older,
      oldest,
    ]);
    expect(signingSecrets(secret, retired, new Date(at + 2 * hour))).toEqual([secret, older]);
    expect(signingSecrets(secret, retired, new Date(at + 3 * hour))).toEqual([secret]);
    expect(signingSecrets(secret, [])).toEqual([secret]);
  });
});
