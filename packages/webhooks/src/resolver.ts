import { Resolver } from 'node:dns/promises';
import { readFile } from 'node:fs/promises';
import { isIP } from 'node:net';

/**
 * Host resolution for the SSRF guard that one tenant's slow name server cannot turn into an
 * outage for everyone. `dns.lookup` (getaddrinfo) runs on libuv's thread pool, four threads
 * shared with every file read, and cannot be cancelled: a few dozen names served by a silent
 * name server would hold every thread for the resolver's own retries (tens of seconds), and
 * `fs`, `crypto` and `zlib` would queue behind them. `dns.Resolver` is c-ares: it waits on
 * sockets in the event loop, takes a per-query timeout, and `cancel()` ends its queries at once.
 *
 * c-ares asks DNS only, not /etc/hosts, so names listed there (`localhost`, a local test host)
 * are answered from a small parse of that file first. Not getaddrinfo for those names: finding
 * out whether a name is listed already means reading the file, and the file's answer is what
 * getaddrinfo would give (with the usual `hosts: files dns` order), without a thread.
 */

/** Resolves a host name to every address it has (A and AAAA), in resolver order. */
export type HostResolver = (host: string) => Promise<string[]>;

export interface HostResolverOptions {
  /** Bound on one resolution, both families together (DNS_LOOKUP_TIMEOUT_MS). */
  timeoutMs: number;
  /** Name servers (`host` or `host:port`); the system's (resolv.conf) when absent. */
  servers?: string[];
  /** Where the hosts file is; tests point this elsewhere. */
  hostsFile?: string;
}

export class DnsTimeoutError extends Error {
  readonly code = 'DNS_TIMEOUT';

  constructor(host: string, timeoutMs: number) {
    super(`DNS lookup of ${host} timed out after ${timeoutMs} ms`);
    this.name = 'DnsTimeoutError';
  }
}

// The hosts file changes rarely; re-reading it at most this often keeps a 10,000-line check from
// being 10,000 file reads, and still sees an edit within seconds.
const HOSTS_TTL_MS = 5_000;

type HostsTable = Map<string, string[]>;

export function parseHostsFile(text: string): HostsTable {
  const table: HostsTable = new Map();
  for (const raw of text.split('\n')) {
    const [address, ...names] = (raw.split('#')[0] ?? '').trim().split(/\s+/);
    if (!address || isIP(address) === 0) continue;
    for (const name of names) {
      const key = name.toLowerCase().replace(/\.$/, '');
      const list = table.get(key) ?? [];
      if (!list.includes(address)) list.push(address);
      table.set(key, list);
    }
  }
  return table;
}

function hostsReader(path: string): () => Promise<HostsTable> {
  let cached: { table: HostsTable; at: number } | null = null;
  return async () => {
    if (cached && Date.now() - cached.at < HOSTS_TTL_MS) return cached.table;
    // A missing or unreadable hosts file means no static entries, not a failed check.
    const text = await readFile(path, 'utf8').catch(() => '');
    cached = { table: parseHostsFile(text), at: Date.now() };
    return cached.table;
  };
}

// No such name, or no record of that family: an empty family, not a failure.
const NO_ANSWER = new Set(['ENODATA', 'ENOTFOUND', 'NOTFOUND', 'NODATA']);

/**
 * A resolver for `assertPublicTarget` and `createGuardedLookup`. Each resolution gets its own
 * c-ares channel, so cancelling it at the deadline ends only its own queries (`cancel()` ends
 * every query of a channel). A and AAAA are asked together; a name with either has addresses.
 */
export function createHostResolver(options: HostResolverOptions): HostResolver {
  const hosts = hostsReader(options.hostsFile ?? '/etc/hosts');
  return async (name) => {
    const host = name.toLowerCase().replace(/\.$/, '');
    const listed = (await hosts()).get(host);
    if (listed) return [...listed];

    // One try per server and c-ares' own timeout at the bound: the timer below is the bound
    // that counts (c-ares doubles its timeout on each retry round and tries every server).
    const resolver = new Resolver({ timeout: options.timeoutMs, tries: 1 });
    if (options.servers) resolver.setServers(options.servers);
    let timer: NodeJS.Timeout | undefined;
    const deadline = new Promise<never>((_, reject) => {
      timer = setTimeout(() => {
        resolver.cancel();
        reject(new DnsTimeoutError(host, options.timeoutMs));
      }, options.timeoutMs);
    });
    const family = (query: Promise<string[]>) =>
      query.catch((error: NodeJS.ErrnoException) => {
        if (error.code && NO_ANSWER.has(error.code)) return [];
        // c-ares' own timeout is the same bound: it may fire a moment before the timer below.
        if (error.code === 'ETIMEOUT') throw new DnsTimeoutError(host, options.timeoutMs);
        throw error;
      });
    try {
      const [v4, v6] = await Promise.race([
        Promise.all([family(resolver.resolve4(host)), family(resolver.resolve6(host))]),
        deadline,
      ]);
      const addresses = [...v4, ...v6];
      if (addresses.length === 0) {
        throw Object.assign(new Error(`DNS lookup of ${host}: no address`), { code: 'ENOTFOUND' });
      }
      return addresses;
    } finally {
      clearTimeout(timer);
      // Whatever is still outstanding (the other family after a failure) ends now.
      resolver.cancel();
    }
  };
}
