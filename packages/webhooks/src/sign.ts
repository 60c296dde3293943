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
 * The secrets that sign at `now`: the current one, then every retired one whose expiry is still
 * ahead (newest first), so a receiver that has not switched yet, even across two rotations,
 * loses no message.
 */
export function signingSecrets(
  current: string,
  retired: ReadonlyArray<{ secret: string; expiresAt: Date }>,
  now: Date = new Date(),
): string[] {
  const secrets = [current];
  for (const { secret, expiresAt } of retired) {
    if (now.getTime() < expiresAt.getTime() && !secrets.includes(secret)) secrets.push(secret);
  }
  return secrets;
}
