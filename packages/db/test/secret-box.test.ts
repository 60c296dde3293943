import { randomBytes } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import { openSecret, SecretBoxError, sealSecret } from '../src/index.js';

describe('secret box', () => {
  const key = randomBytes(32);

  it('opens what it sealed, and never stores the plaintext', () => {
    const sealed = sealSecret('rh-live-key-0123456789', key);
    expect(sealed).not.toContain('rh-live-key');
    expect(openSecret(sealed, key)).toBe('rh-live-key-0123456789');
    // A fresh nonce each time: equal keys do not give equal ciphertexts.
    expect(sealSecret('rh-live-key-0123456789', key)).not.toBe(sealed);
  });

  it('refuses another key, a tampered value and a short key', () => {
    const sealed = sealSecret('secret', key);
    expect(() => openSecret(sealed, randomBytes(32))).toThrow(SecretBoxError);
    const parts = sealed.split('.');
    const body = Buffer.from(parts[3] as string, 'base64url');
    body[0] = (body[0] ?? 0) ^ 1;
    parts[3] = body.toString('base64url');
    expect(() => openSecret(parts.join('.'), key)).toThrow(SecretBoxError);
    expect(() => openSecret('plain', key)).toThrow(SecretBoxError);
    expect(() => sealSecret('secret', randomBytes(16))).toThrow(SecretBoxError);
  });
});
