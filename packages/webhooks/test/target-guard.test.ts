import { lookup as dnsLookup } from 'node:dns';
import { describe, expect, it } from 'vitest';
import {
  assertPublicTarget,
  boundedResolver,
  createGuardedLookup,
  type HostResolver,
  isPrivateAddress,
  parseAllowlist,
  UnsafeTargetError,
} from '../src/index.js';

const none = parseAllowlist([]);
const resolver =
  (answers: Record<string, string[]>): HostResolver =>
  async (host) => {
    const answer = answers[host];
    if (!answer) throw Object.assign(new Error(`ENOTFOUND ${host}`), { code: 'ENOTFOUND' });
    return answer;
  };

async function refusal(url: string, allowlist = none, resolve?: HostResolver) {
  try {
    await assertPublicTarget(url, allowlist, resolve);
  } catch (error) {
    if (error instanceof UnsafeTargetError) return error;
    throw error;
  }
  return null;
}

describe('assertPublicTarget', () => {
  it.each([
    'http://10.0.0.1/hook',
    'http://192.168.1.10/hook',
    'http://172.16.0.5/hook',
    'http://169.254.169.254/latest/meta-data/',
    'http://127.0.0.1:8080/hook',
    'http://[::1]/hook',
    'http://[::ffff:10.0.0.1]/hook',
    'http://[fd00::1]/hook',
    'http://[fe80::1]/hook',
    'http://[::127.0.0.1]/hook',
    'http://100.64.0.1/hook',
    'http://0.0.0.0/hook',
    // WHATWG URL parsing turns these spellings into 127.0.0.1 before the check sees them.
    'http://2130706433/hook',
    'http://0x7f.1/hook',
  ])('refuses %s', async (url) => {
    const error = await refusal(url);
    expect(error?.reason).toMatch(/private address/);
  });

  it('refuses a public-looking name that resolves to loopback or to the metadata service', async () => {
    const resolve = resolver({
      'hooks.example.com': ['127.0.0.1'],
      'meta.example.com': ['93.184.216.34', '169.254.169.254'],
    });
    expect((await refusal('https://hooks.example.com/x', none, resolve))?.reason).toMatch(
      /private/,
    );
    // One private answer among public ones is enough: the connection might pick it.
    expect((await refusal('https://meta.example.com/x', none, resolve))?.reason).toMatch(/private/);
  });

  it('accepts public addresses and names that resolve to them', async () => {
    const resolve = resolver({ 'hooks.example.com': ['93.184.216.34', '2606:2800:220:1::1'] });
    const checked = await assertPublicTarget('https://hooks.example.com/x', none, resolve);
    expect(checked.addresses).toEqual(['93.184.216.34', '2606:2800:220:1::1']);
    await expect(assertPublicTarget('http://8.8.8.8/x', none)).resolves.toBeTruthy();
  });

  it('lets allowlisted CIDRs and hosts through', async () => {
    const allow = parseAllowlist(['127.0.0.0/8', '::1', 'hooks.internal', '10.1.0.0/16']);
    const resolve = resolver({
      localhost: ['127.0.0.1'],
      'hooks.internal': ['10.9.9.9'],
      'rebind.example.com': ['10.1.2.3'],
    });
    expect(await refusal('http://127.0.0.1:3000/hook', allow, resolve)).toBeNull();
    expect(await refusal('http://[::1]:3000/hook', allow, resolve)).toBeNull();
    expect(await refusal('http://localhost:3000/hook', allow, resolve)).toBeNull();
    expect(await refusal('http://hooks.internal/hook', allow, resolve)).toBeNull();
    expect(await refusal('http://rebind.example.com/hook', allow, resolve)).toBeNull();
    // Allowlisting 10.1.0.0/16 is not allowlisting 10.0.0.0/8.
    expect(await refusal('http://10.0.0.1/hook', allow, resolve)).not.toBeNull();
    expect(await refusal('http://169.254.169.254/', allow, resolve)).not.toBeNull();
  });

  it('refuses URLs no attempt could use, marked permanent', async () => {
    for (const url of ['not a url', 'ftp://example.com/x', 'http://user:pw@example.com/x']) {
      const error = await refusal(url);
      expect(error?.permanent).toBe(true);
    }
    // A name that does not resolve may resolve later: not permanent.
    const error = await refusal('https://nowhere.example.com/', none, resolver({}));
    expect(error?.reason).toMatch(/does not resolve/);
    expect(error?.permanent).toBe(false);
  });

  it('gives up on a name server that does not answer', async () => {
    const silent: HostResolver = () => new Promise(() => {});
    const error = await refusal('https://slow.example.com/', none, boundedResolver(50, silent));
    expect(error?.reason).toMatch(/does not resolve/);
  });

  it('classifies addresses', () => {
    expect(isPrivateAddress('8.8.8.8')).toBe(false);
    expect(isPrivateAddress('2001:4860:4860::8888')).toBe(false);
    for (const a of ['10.0.0.1', '127.0.0.1', '169.254.169.254', '::1', '::ffff:192.168.0.1']) {
      expect(isPrivateAddress(a)).toBe(true);
    }
  });
});

describe('createGuardedLookup', () => {
  function run(
    lookup: ReturnType<typeof createGuardedLookup>,
    host: string,
    options: { all?: boolean; family?: number } = {},
  ): Promise<unknown> {
    return new Promise((resolve, reject) => {
      lookup(host, options, (error, address, family) =>
        error ? reject(error) : resolve(options.all ? address : { address, family }),
      );
    });
  }

  it('hands the socket only checked addresses, in both lookup shapes', async () => {
    const lookup = createGuardedLookup(none, resolver({ 'ok.example.com': ['93.184.216.34'] }));
    expect(await run(lookup, 'ok.example.com')).toEqual({ address: '93.184.216.34', family: 4 });
    expect(await run(lookup, 'ok.example.com', { all: true })).toEqual([
      { address: '93.184.216.34', family: 4 },
    ]);
  });

  it('refuses a name whose answer turned private after the first check (DNS rebinding)', async () => {
    let calls = 0;
    const rebinding: HostResolver = async () => (calls++ === 0 ? ['93.184.216.34'] : ['10.0.0.1']);
    await assertPublicTarget('http://rebind.example.com/', none, rebinding);
    const lookup = createGuardedLookup(none, rebinding);
    await expect(run(lookup, 'rebind.example.com')).rejects.toMatchObject({
      code: 'UNSAFE_TARGET',
    });
  });

  it('is a lookup node accepts', async () => {
    // Same contract as dns.lookup: the real resolver for localhost, allowlisted here.
    const lookup = createGuardedLookup(parseAllowlist(['127.0.0.0/8', '::1']));
    const ours = (await run(lookup, 'localhost', { all: true })) as Array<{ address: string }>;
    const system = await new Promise<Array<{ address: string }>>((resolve, reject) =>
      dnsLookup('localhost', { all: true, verbatim: true }, (e, a) => (e ? reject(e) : resolve(a))),
    );
    expect(ours.map((a) => a.address)).toEqual(system.map((a) => a.address));
    await expect(run(createGuardedLookup(none), 'localhost')).rejects.toMatchObject({
      code: 'UNSAFE_TARGET',
    });
  });
});
