import { isIP, type LookupFunction } from 'node:net';
import ipaddr from 'ipaddr.js';
import { urlForLog } from './log-url.js';
import { createHostResolver, DnsTimeoutError, type HostResolver } from './resolver.js';

export type { HostResolver } from './resolver.js';

/**
 * Refuses URLs that would make voxline (or RunningHub on its behalf) call into a private
 * network: loopback, RFC 1918, link-local (cloud metadata at 169.254.169.254), CGNAT, ULA and
 * the like. Hosts and CIDRs in the allowlist are exempt (local development, tests, an internal
 * receiver an operator trusts).
 */

export class UnsafeTargetError extends Error {
  /** Survives being passed through undici's connect path, where `instanceof` may not. */
  readonly code = 'UNSAFE_TARGET';
  /** Without query string or credentials: this error is logged and stored as the attempt's. */
  readonly url: string;

  constructor(
    url: string,
    readonly reason: string,
    /** True when no later attempt can succeed: the URL itself is unusable. */
    readonly permanent = false,
  ) {
    const shown = urlForLog(url);
    super(`target ${shown} refused: ${reason}`);
    this.name = 'UnsafeTargetError';
    this.url = shown;
  }
}

type Address = ipaddr.IPv4 | ipaddr.IPv6;
type Cidr = [Address, number];

export interface TargetAllowlist {
  hosts: Set<string>;
  cidrs: Cidr[];
}

// For callers that bring no resolver of their own: c-ares (never the thread pool's getaddrinfo),
// bounded by DNS_LOOKUP_TIMEOUT_MS's default. Processes pass one built from their config.
const defaultResolver: HostResolver = createHostResolver({ timeoutMs: 3_000 });

/**
 * `resolve` (the default resolver when absent) bounded by `timeoutMs` as well: an attempt must
 * end within its own timeout even when that is shorter than the resolver's.
 */
export function boundedResolver(timeoutMs: number, resolve = defaultResolver): HostResolver {
  return async (host) => {
    let timer: NodeJS.Timeout | undefined;
    try {
      return await Promise.race([
        resolve(host),
        new Promise<never>((_, reject) => {
          timer = setTimeout(() => reject(new Error(`DNS lookup of ${host} timed out`)), timeoutMs);
        }),
      ]);
    } finally {
      clearTimeout(timer);
    }
  };
}

function normalizeHost(host: string): string {
  return host
    .replace(/^\[|\]$/g, '')
    .replace(/\.$/, '')
    .toLowerCase();
}

export function parseAllowlist(items: string[]): TargetAllowlist {
  const hosts = new Set<string>();
  const cidrs: Cidr[] = [];
  for (const item of items) {
    if (item.includes('/')) cidrs.push(ipaddr.parseCIDR(item));
    else if (ipaddr.isValid(item))
      cidrs.push([ipaddr.parse(item), ipaddr.parse(item).kind() === 'ipv4' ? 32 : 128]);
    else hosts.add(normalizeHost(item));
  }
  return { hosts, cidrs };
}

// ::ffff:10.0.0.1 reaches 10.0.0.1: judge (and allowlist) the IPv4 address it carries.
function parseAddress(text: string): Address {
  const address = ipaddr.parse(text);
  if (address.kind() === 'ipv6' && (address as ipaddr.IPv6).isIPv4MappedAddress()) {
    return (address as ipaddr.IPv6).toIPv4Address();
  }
  return address;
}

const GLOBAL_UNICAST_V6 = ipaddr.parseCIDR('2000::/3');

function allowedAddress(address: Address, allowlist: TargetAllowlist): boolean {
  return allowlist.cidrs.some(
    ([range, bits]) => range.kind() === address.kind() && address.match(range, bits),
  );
}

/**
 * True for any address outside the public unicast internet. IPv6 must also be global unicast
 * (2000::/3): that excludes the deprecated IPv4-compatible ::a.b.c.d form and whatever special
 * range ipaddr.js does not name.
 */
export function isPrivateAddress(text: string): boolean {
  const address = parseAddress(text);
  if (address.range() !== 'unicast') return true;
  return address.kind() === 'ipv6' && !address.match(GLOBAL_UNICAST_V6);
}

/** Throws unless every address is public or allowlisted (one private answer is enough). */
function checkAddresses(
  rawUrl: string,
  host: string,
  addresses: string[],
  allowlist: TargetAllowlist,
): void {
  if (addresses.length === 0) throw new UnsafeTargetError(rawUrl, `host ${host} has no address`);
  for (const text of addresses) {
    if (allowedAddress(parseAddress(text), allowlist)) continue;
    if (isPrivateAddress(text)) {
      throw new UnsafeTargetError(rawUrl, `${host} resolves to a private address`);
    }
  }
}

export interface CheckedTarget {
  url: URL;
  /** Host name without brackets, lower case. */
  host: string;
  /** The addresses checked; empty for an allowlisted host name, which is not resolved. */
  addresses: string[];
}

/**
 * Checks a URL's scheme and every address its host resolves to. Resolution happens here, so a
 * public name pointing at a private address is refused too. It cannot stop a name that changes
 * its answer between this check and the connection (DNS rebinding): connections go through
 * `createGuardedLookup`, which checks the very answer used to connect.
 */
export async function assertPublicTarget(
  rawUrl: string,
  allowlist: TargetAllowlist,
  resolve: HostResolver = defaultResolver,
): Promise<CheckedTarget> {
  let url: URL;
  try {
    url = new URL(rawUrl);
  } catch {
    throw new UnsafeTargetError(rawUrl, 'not a valid URL', true);
  }
  if (url.protocol !== 'https:' && url.protocol !== 'http:') {
    throw new UnsafeTargetError(rawUrl, `scheme ${url.protocol} is not http(s)`, true);
  }
  if (url.username || url.password) {
    throw new UnsafeTargetError(rawUrl, 'credentials in the URL', true);
  }
  const host = normalizeHost(url.hostname);
  if (allowlist.hosts.has(host)) return { url, host, addresses: [] };
  let addresses: string[];
  if (isIP(host)) addresses = [host];
  else {
    try {
      addresses = await resolve(host);
    } catch (error) {
      const timedOut = error instanceof DnsTimeoutError;
      throw new UnsafeTargetError(
        rawUrl,
        timedOut ? `the lookup of host ${host} timed out` : `host ${host} does not resolve`,
      );
    }
  }
  checkAddresses(rawUrl, host, addresses, allowlist);
  return { url, host, addresses };
}

/**
 * A `lookup` for `net.connect` (and so for an undici Agent's `connect` option) that resolves a
 * name once and hands the socket only addresses it has checked: what is checked is exactly
 * what is connected to, so a name that answers "public" to the first check and "private" to
 * the connection is refused. IP literals never reach a lookup; `assertPublicTarget` covers them.
 */
export function createGuardedLookup(
  allowlist: TargetAllowlist,
  resolve: HostResolver = defaultResolver,
): LookupFunction {
  return (hostname, options, callback) => {
    const host = normalizeHost(hostname);
    const answer = isIP(host) ? Promise.resolve([host]) : resolve(host);
    answer.then(
      (addresses) => {
        try {
          if (!allowlist.hosts.has(host)) checkAddresses(hostname, host, addresses, allowlist);
        } catch (error) {
          callback(error as NodeJS.ErrnoException, '', 0);
          return;
        }
        const family = typeof options.family === 'number' ? options.family : 0;
        const entries = addresses
          .map((address) => ({ address, family: isIP(address) }))
          .filter((entry) => family === 0 || entry.family === family);
        const [first] = entries;
        if (!first) {
          const error: NodeJS.ErrnoException = new Error(`getaddrinfo ENOTFOUND ${hostname}`);
          error.code = 'ENOTFOUND';
          callback(error, '', 0);
          return;
        }
        if (options.all) callback(null, entries);
        else callback(null, first.address, first.family);
      },
      (error: NodeJS.ErrnoException) => callback(error, '', 0),
    );
  };
}
