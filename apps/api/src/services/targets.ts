import { isIP } from 'node:net';
import type { Config } from '@voxline/config';
import {
  assertPublicTarget,
  createHostResolver,
  type HostResolver,
  type TargetAllowlist,
  UnsafeTargetError,
} from '@voxline/webhooks';
import type { FieldProblem } from '../errors.js';

// Distinct URLs checked at once: a batch may name thousands of reference files.
const CHECK_CONCURRENCY = 16;

export interface TargetCheck {
  /** Reference audio (fetched by RunningHub) or a webhook target (called by us). */
  kind: 'audio' | 'webhook';
  url: string;
  /** Where the URL appears first in the request (`voice.audio`, `lines.7.audio`). */
  path: string;
}

export interface TargetCheckOptions {
  /** Distinct host names one request may make us resolve (MAX_HOSTS_PER_REQUEST). */
  maxHosts: number;
  /** Cancellable and bounded (DNS_LOOKUP_TIMEOUT_MS): see @voxline/webhooks' resolver. */
  resolve: HostResolver;
}

const optionsByConfig = new WeakMap<Config, TargetCheckOptions>();

/** The options a process's config asks for; one resolver per config, built on first use. */
export function targetCheckOptions(config: Config): TargetCheckOptions {
  let options = optionsByConfig.get(config);
  if (!options) {
    options = {
      maxHosts: config.MAX_HOSTS_PER_REQUEST,
      resolve: createHostResolver({ timeoutMs: config.DNS_LOOKUP_TIMEOUT_MS }),
    };
    optionsByConfig.set(config, options);
  }
  return options;
}

// The config's defaults, for callers not yet passing their own config's options.
const DEFAULT_OPTIONS: TargetCheckOptions = {
  maxHosts: 20,
  resolve: createHostResolver({ timeoutMs: 3_000 }),
};

/** The host a lookup would be made for; null for an IP literal or a URL that does not parse. */
function hostToResolve(url: string): string | null {
  let host: string;
  try {
    host = new URL(url).hostname.replace(/^\[|\]$/g, '').toLowerCase();
  } catch {
    return null;
  }
  return isIP(host) ? null : host.replace(/\.$/, '');
}

/**
 * The first check that would take the request past `maxHosts` distinct host names to resolve,
 * in request order. Counted before any lookup, so a request over the cap costs no DNS work at
 * all. IP literals and allowlisted names are never resolved, so they are not counted.
 */
function firstOverHostCap(
  checks: TargetCheck[],
  allowlists: Record<TargetCheck['kind'], TargetAllowlist>,
  maxHosts: number,
): FieldProblem | null {
  const hosts = new Set<string>();
  for (const check of checks) {
    const host = hostToResolve(check.url);
    if (host === null || hosts.has(host) || allowlists[check.kind].hosts.has(host)) continue;
    if (hosts.size >= maxHosts) {
      return {
        path: check.path,
        message: `names host ${host}, more than ${maxHosts} distinct hosts in one request; host the files on fewer hosts or split the request`,
      };
    }
    hosts.add(host);
  }
  return null;
}

/**
 * Applies the SSRF guard to every distinct URL once (a 10,000-line batch with one reference
 * file resolves one host once) and names the first field using each URL that is refused. A
 * request naming more distinct hosts than `options.maxHosts` is refused whole, naming the first
 * field over the cap, before anything is resolved.
 */
export async function checkTargets(
  checks: TargetCheck[],
  allowlists: Record<TargetCheck['kind'], TargetAllowlist>,
  options: TargetCheckOptions = DEFAULT_OPTIONS,
): Promise<FieldProblem[]> {
  const overCap = firstOverHostCap(checks, allowlists, options.maxHosts);
  if (overCap) return [overCap];
  const distinct = new Map<string, TargetCheck>();
  for (const check of checks) {
    const key = `${check.kind} ${check.url}`;
    if (!distinct.has(key)) distinct.set(key, check);
  }
  const pending = [...distinct.values()];
  // One lookup per host, however many URLs share it.
  const answers = new Map<string, Promise<string[]>>();
  const resolveOnce: HostResolver = (host) => {
    let answer = answers.get(host);
    if (!answer) {
      answer = options.resolve(host);
      answers.set(host, answer);
    }
    return answer;
  };
  const problems: FieldProblem[] = [];
  const worker = async () => {
    for (let check = pending.shift(); check; check = pending.shift()) {
      try {
        await assertPublicTarget(check.url, allowlists[check.kind], resolveOnce);
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
