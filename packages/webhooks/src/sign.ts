import { Webhook } from 'standardwebhooks';

/**
 * Standard Webhooks signing, by the reference library: the signature is
 * `v1,` + base64(HMAC-SHA256(secret, "<webhook-id>.<webhook-timestamp>.<body>")).
 * https://github.com/standard-webhooks/standard-webhooks/blob/main/spec/standard-webhooks.md
 */

export interface SignedHeaders {
  'webhook-id': string;
  'webhook-timestamp': string;
  'webhook-signature': string;
}

/**
 * Headers for one attempt. Several secrets give several space-separated signatures (the spec's
 * rotation mechanism): a receiver holding either secret accepts the message.
 */
export function signWebhook(params: {
  id: string;
  timestamp: Date;
  body: string;
  secrets: string[];
}): SignedHeaders {
  if (params.secrets.length === 0) throw new Error('no secret to sign with');
  const signatures = params.secrets.map((secret) =>
    new Webhook(secret).sign(params.id, params.timestamp, params.body),
  );
  return {
    'webhook-id': params.id,
    'webhook-timestamp': String(Math.floor(params.timestamp.getTime() / 1_000)),
    'webhook-signature': signatures.join(' '),
  };
}

/**
 * The secrets that sign now: the current one, and the previous one while the grace period
 * after a rotation lasts, so receivers can switch secrets without losing a message.
 */
export function signingSecrets(
  tenant: {
    webhookSecret: string;
    previousWebhookSecret: string | null;
    secretRotatedAt: Date | null;
  },
  graceMs: number,
  now: Date = new Date(),
): string[] {
  const secrets = [tenant.webhookSecret];
  if (
    tenant.previousWebhookSecret &&
    tenant.previousWebhookSecret !== tenant.webhookSecret &&
    tenant.secretRotatedAt &&
    now.getTime() < tenant.secretRotatedAt.getTime() + graceMs
  ) {
    secrets.push(tenant.previousWebhookSecret);
  }
  return secrets;
}
