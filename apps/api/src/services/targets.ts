import { lookup } from 'node:dns/promises';
import { assertPublicTarget, type TargetAllowlist, UnsafeTargetError } from '@voxline/webhooks';
import type { FieldProblem } from '../errors.js';

// A name server that does not answer must not hold a request (and its body) for the resolver's
// own minutes-long retries; an unresolvable host is refused like a private one.
const DNS_TIMEOUT_MS = 3_000;
// Distinct URLs checked at once: a batch may name thousands of reference files.
const CHECK_CONCURRENCY = 16;

async function resolveWithTimeout(host: string): Promise<string[]> {
  let timer: NodeJS.Timeout | undefined;
  try {
    return await Promise.race([
      lookup(host, { all: true, verbatim: true }).then((rs) => rs.map((r) => r.address)),
      new Promise<never>((_, reject) => {
        timer = setTimeout(() => reject(new Error('DNS timeout')), DNS_TIMEOUT_MS);
      }),
    ]);
  } finally {
    clearTimeout(timer);
  }
}

export interface TargetCheck {
  /** Reference audio (fetched by RunningHub) or a webhook target (called by us). */
  kind: 'audio' | 'webhook';
  url: string;
  /** Where the URL appears first in the request (`voice.audio`, `lines.7.audio`). */
  path: string;
}

/**
 * Applies the SSRF guard to every distinct URL once (a 10,000-line batch with one reference
 * file resolves one host once) and names the first field using each URL that is refused.
 */
export async function checkTargets(
  checks: TargetCheck[],
  allowlists: Record<TargetCheck['kind'], TargetAllowlist>,
): Promise<FieldProblem[]> {
  const distinct = new Map<string, TargetCheck>();
  for (const check of checks) {
    const key = `${check.kind} ${check.url}`;
    if (!distinct.has(key)) distinct.set(key, check);
  }
  const pending = [...distinct.values()];
  const problems: FieldProblem[] = [];
  const worker = async () => {
    for (let check = pending.shift(); check; check = pending.shift()) {
      try {
        await assertPublicTarget(check.url, allowlists[check.kind], resolveWithTimeout);
      } catch (error) {
        if (!(error instanceof UnsafeTargetError)) throw error;
        problems.push({ path: check.path, message: `refused: ${error.reason}` });
      }
    }
  };
  await Promise.all(Array.from({ length: Math.min(CHECK_CONCURRENCY, pending.length) }, worker));
  // Workers finish out of order; answer in request order.
  const order = new Map(checks.map((c, i) => [c.path, i]));
  return problems.sort((a, b) => (order.get(a.path) ?? 0) - (order.get(b.path) ?? 0));
}
