import { createHash, timingSafeEqual } from 'node:crypto';

/**
 * How a key appears in statistics, task lists and logs: recognisable by its owner, useless
 * to anyone else.
 */
export function keyLabel(key: string): string {
  const digest = createHash('sha256').update(key).digest('hex').slice(0, 8);
  return `${key.slice(0, Math.min(4, Math.floor(key.length / 3)))}…${digest}`;
}

export function bearerOf(header: string | undefined): string | null {
  const match = header ? /^Bearer\s+(\S+)\s*$/i.exec(header) : null;
  return match?.[1] ?? null;
}

export function sameSecret(a: string, b: string): boolean {
  const x = createHash('sha256').update(a).digest();
  const y = createHash('sha256').update(b).digest();
  return timingSafeEqual(x, y);
}
