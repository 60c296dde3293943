import { pbkdf2 } from 'node:crypto';
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  assertPublicTarget,
  createHostResolver,
  DnsTimeoutError,
  parseAllowlist,
  parseHostsFile,
  UnsafeTargetError,
} from '../src/index.js';
import { startDnsServer, type TestDnsServer } from './dns-server.js';

const TIMEOUT_MS = 300;

describe('createHostResolver', () => {
  let prompt: TestDnsServer;
  let late: TestDnsServer;
  let dir: string;
  let hostsFile: string;
  beforeAll(async () => {
    prompt = await startDnsServer({
      records: { 'hooks.example.test': '93.184.216.34', 'local.example.test': '10.1.2.3' },
    });
    // Answers, but only after twice the bound: as good as silent.
    late = await startDnsServer({
      records: { 'late.example.test': '93.184.216.35' },
      delayMs: TIMEOUT_MS * 2,
    });
    dir = await mkdtemp(join(tmpdir(), 'voxline-hosts-'));
    hostsFile = join(dir, 'hosts');
    await writeFile(hostsFile, '127.0.0.1 localhost # loopback\n::1 localhost ip6-localhost\n');
  });
  afterAll(async () => {
    await prompt.close();
    await late.close();
    await rm(dir, { recursive: true, force: true });
  });

  const resolverAt = (server: TestDnsServer) =>
    createHostResolver({ timeoutMs: TIMEOUT_MS, servers: [server.address], hostsFile });

  it('asks the name server for A and AAAA', async () => {
    expect(await resolverAt(prompt)('Hooks.Example.Test.')).toEqual(['93.184.216.34']);
    expect(prompt.queries.filter((q) => q === 'hooks.example.test')).toHaveLength(2);
  });

  it('answers names in the hosts file from the file, without asking DNS', async () => {
    expect(await resolverAt(prompt)('localhost')).toEqual(['127.0.0.1', '::1']);
    expect(prompt.queries).not.toContain('localhost');
    expect(parseHostsFile('# none\n\nnot-an-ip name\n10.0.0.1 a b\n').get('b')).toEqual([
      '10.0.0.1',
    ]);
  });

  it.each([
    ['never answers', () => prompt, 'silent.example.test'],
    ['answers late', () => late, 'late.example.test'],
  ])('gives up at the bound when the name server %s', async (_what, server, host) => {
    // The server never answers (or only after twice the bound): only the resolver's own timeout
    // can end this lookup, so a DnsTimeoutError is the proof it is bounded. It is not early:
    const started = performance.now();
    const error = await resolverAt(server())(host).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(DnsTimeoutError);
    expect(performance.now() - started).toBeGreaterThanOrEqual(TIMEOUT_MS - 20);
  });

  it('keeps the thread pool free while 50 slow lookups are pending', async () => {
    const resolve = resolverAt(prompt);
    let settled = 0;
    const lookups = Array.from({ length: 50 }, (_, i) =>
      resolve(`silent-${i}.example.test`)
        .then(
          () => 'answered',
          (e: unknown) => (e instanceof DnsTimeoutError ? 'timed out' : String(e)),
        )
        .finally(() => {
          settled += 1;
        }),
    );
    // libuv's pool has four threads: 50 getaddrinfo calls would hold them until the lookups
    // end, and these would wait behind them. c-ares lookups wait on sockets, so these finish
    // while every lookup is still pending (none can end before its timeout).
    const file = readFile(hostsFile, 'utf8');
    const hashes = Array.from({ length: 4 }, () =>
      promisify(pbkdf2)('secret', 'salt', 1_000, 32, 'sha256'),
    );
    await Promise.all([file, ...hashes]);
    expect(settled).toBe(0);
    expect(await Promise.all(lookups)).toEqual(Array(50).fill('timed out'));
  });

  it('makes the SSRF guard refuse a host whose lookup timed out, and judge what DNS answers', async () => {
    const none = parseAllowlist([]);
    const error = await assertPublicTarget(
      'https://silent.example.test/hook',
      none,
      resolverAt(prompt),
    ).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(UnsafeTargetError);
    expect((error as UnsafeTargetError).reason).toMatch(
      /lookup of host silent.example.test timed out/,
    );
    await expect(
      assertPublicTarget('https://local.example.test/', none, resolverAt(prompt)),
    ).rejects.toMatchObject({ reason: expect.stringMatching(/private address/) });
    await expect(
      assertPublicTarget('https://hooks.example.test/', none, resolverAt(prompt)),
    ).resolves.toMatchObject({ addresses: ['93.184.216.34'] });
  });
});
