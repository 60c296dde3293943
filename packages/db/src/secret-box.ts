import { createCipheriv, createDecipheriv, randomBytes } from 'node:crypto';

/**
 * Seals a secret for storage (a tenant's RunningHub key): AES-256-GCM with a random 96-bit
 * nonce, `v1.<nonce>.<tag>.<ciphertext>` in base64url. The key is 32 bytes from config
 * (TENANT_KEY_ENCRYPTION_KEY); a database dump alone reveals nothing, and a tampered value
 * fails to open instead of yielding a wrong key.
 */
const VERSION = 'v1';

export class SecretBoxError extends Error {
  override name = 'SecretBoxError';
}

function checkKey(key: Buffer): void {
  if (key.length !== 32) throw new SecretBoxError('the encryption key must be 32 bytes');
}

export function sealSecret(plaintext: string, key: Buffer): string {
  checkKey(key);
  const nonce = randomBytes(12);
  const cipher = createCipheriv('aes-256-gcm', key, nonce);
  const body = Buffer.concat([cipher.update(plaintext, 'utf8'), cipher.final()]);
  return [VERSION, nonce, cipher.getAuthTag(), body]
    .map((part) => (typeof part === 'string' ? part : part.toString('base64url')))
    .join('.');
}

export function openSecret(sealed: string, key: Buffer): string {
  checkKey(key);
  const [version, nonce, tag, body, ...rest] = sealed.split('.');
  if (version !== VERSION || !nonce || !tag || body === undefined || rest.length > 0) {
    throw new SecretBoxError('not a sealed secret');
  }
  try {
    const decipher = createDecipheriv('aes-256-gcm', key, Buffer.from(nonce, 'base64url'));
    decipher.setAuthTag(Buffer.from(tag, 'base64url'));
    return Buffer.concat([
      decipher.update(Buffer.from(body, 'base64url')),
      decipher.final(),
    ]).toString('utf8');
  } catch {
    throw new SecretBoxError('the sealed secret does not open with this key');
  }
}
