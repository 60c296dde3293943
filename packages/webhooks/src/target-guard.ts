import { lookup } from 'node:dns/promises';
import ipaddr from 'ipaddr.js';

/**
 * Refuses URLs that would make voxline (or RunningHub on its behalf) call into a private
 * network: loopback, RFC 1918, link-local (cloud metadata at 169.254.169.254), CGNAT, ULA and
 * the like. Hosts and CIDRs in the allowlist are exempt (local development, tests, an internal
 * receiver an operator trusts).
 */

export class UnsafeTargetError extends Error {
  constructor(
    readonly url: string,
    readonly reason: string,
  ) {
    super(`target ${url} refused: ${reason}`);
    this.name = 'UnsafeTargetError';
  }
}

type Cidr = [ipaddr.IPv4 | ipaddr.IPv6, number];

export interface TargetAllowlist {
  hosts: Set<string>;
  cidrs: Cidr[];
}

export function parseAllowlist(items: string[]): TargetAllowlist {
  const hosts = new Set<string>();
  const cidrs: Cidr[] = [];
  for (const item of items) {
    if (item.includes('/')) cidrs.push(ipaddr.parseCIDR(item));
    else if (ipaddr.isValid(item))
      cidrs.push([ipaddr.parse(item), ipaddr.parse(item).kind() === 'ipv4' ? 32 : 128]);
    else hosts.add(item.toLowerCase());
  }
  return { hosts, cidrs };
}

function allowedAddress(address: ipaddr.IPv4 | ipaddr.IPv6, allowlist: TargetAllowlist): boolean {
  return allowlist.cidrs.some(
    ([range, bits]) => range.kind() === address.kind() && address.match(range, bits),
  );
}

/** True for any address outside the public unicast internet. */
export function isPrivateAddress(text: string): boolean {
  let address = ipaddr.parse(text);
  if (address.kind() === 'ipv6' && (address as ipaddr.IPv6).isIPv4MappedAddress()) {
    address = (address as ipaddr.IPv6).toIPv4Address();
  }
  return address.range() !== 'unicast';
}

/**
 * Checks a URL's scheme and every address its host resolves to. Resolution happens here, so a
 * public name pointing at a private address is refused too.
 */
export async function assertPublicTarget(
  rawUrl: string,
  allowlist: TargetAllowlist,
  resolve: (host: string) => Promise<string[]> = async (host) =>
    (await lookup(host, { all: true, verbatim: true })).map((r) => r.address),
): Promise<void> {
  let url: URL;
  try {
    url = new URL(rawUrl);
  } catch {
    throw new UnsafeTargetError(rawUrl, 'not a valid URL');
  }
  if (url.protocol !== 'https:' && url.protocol !== 'http:') {
    throw new UnsafeTargetError(rawUrl, `scheme ${url.protocol} is not http(s)`);
  }
  if (url.username || url.password) throw new UnsafeTargetError(rawUrl, 'credentials in the URL');
  const host = url.hostname.replace(/^\[|\]$/g, '').toLowerCase();
  if (allowlist.hosts.has(host)) return;
  let addresses: string[];
  if (ipaddr.isValid(host)) addresses = [host];
  else {
    try {
      addresses = await resolve(host);
    } catch {
      throw new UnsafeTargetError(rawUrl, `host ${host} does not resolve`);
    }
  }
  for (const text of addresses) {
    const address = ipaddr.parse(text);
    if (allowedAddress(address, allowlist)) continue;
    if (isPrivateAddress(text))
      throw new UnsafeTargetError(rawUrl, `${host} resolves to a private address`);
  }
}
