import { createHostResolver, parseAllowlist } from '@voxline/webhooks';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startDnsServer, type TestDnsServer } from '../../../packages/webhooks/test/dns-server.js';
import { checkTargets, type TargetCheck } from '../src/services/targets.js';
import { type Api, AUDIO_URL, startApi } from './harness.js';

const TIMEOUT_MS = 300;
const none = { audio: parseAllowlist([]), webhook: parseAllowlist([]) };

describe('checkTargets', () => {
  let dns: TestDnsServer;
  beforeAll(async () => {
    const records: Record<string, string> = {};
    for (let i = 0; i < 30; i += 1) records[`h${i}.example.test`] = '93.184.216.34';
    dns = await startDnsServer({ records });
  });
  afterAll(async () => {
    await dns.close();
  });

  const options = (maxHosts: number) => ({
    maxHosts,
    resolve: createHostResolver({ timeoutMs: TIMEOUT_MS, servers: [dns.address] }),
  });
  const line = (i: number, host: string): TargetCheck => ({
    kind: 'audio',
    url: `https://${host}/ref-${i}.mp3`,
    path: `lines.${i}.audio`,
  });

  it('refuses a request naming more distinct hosts than the cap, before resolving any', async () => {
    const checks = Array.from({ length: 25 }, (_, i) => line(i, `h${i}.example.test`));
    // The same hosts again, an IP literal and a webhook on a host already counted cost nothing.
    checks.push(line(25, 'h0.example.test'), line(26, '93.184.216.34'));
    checks.push({ kind: 'webhook', url: 'https://h1.example.test/hook', path: 'webhook_url' });
    const asked = dns.queries.length;
    expect(await checkTargets(checks, none, options(20))).toEqual([
      { path: 'lines.20.audio', message: expect.stringMatching(/more than 20 distinct hosts/) },
    ]);
    expect(dns.queries.length).toBe(asked);
    expect(
      await checkTargets(checks.slice(0, 20).concat(checks.slice(25)), none, options(20)),
    ).toEqual([]);
  });

  it('resolves each host once however many URLs share it', async () => {
    const checks = Array.from({ length: 500 }, (_, i) => line(i, 'h29.example.test'));
    expect(await checkTargets(checks, none, options(20))).toEqual([]);
    expect(dns.queries.filter((q) => q === 'h29.example.test')).toHaveLength(2);
  });

  it('refuses hosts whose name server is silent, within the lookup bound', async () => {
    const checks = Array.from({ length: 20 }, (_, i) => line(i, `silent-${i}.example.test`));
    // The name server never answers: only the lookup bound ends these checks.
    const problems = await checkTargets(checks, none, options(20));
    expect(problems).toHaveLength(20);
    expect(problems[0]).toEqual({
      path: 'lines.0.audio',
      message: 'refused: the lookup of host silent-0.example.test timed out',
    });
  });
});

describe('POST /v1/batches with reference files on many hosts', () => {
  let api: Api;
  let key: string;
  beforeAll(async () => {
    api = await startApi();
    key = (await api.tenant('many-hosts')).key;
  });
  afterAll(async () => {
    await api.close();
  });

  it('answers 400 naming the first line over the host cap, and writes nothing', async () => {
    const lines = Array.from({ length: 30 }, (_, i) => ({
      text: `Line ${i}.`,
      audio: `https://files-${i}.example.test/ref.mp3`,
    }));
    const before = await api.database.pool.query<{ n: number }>(
      'select count(*)::int as n from batches',
    );
    const res = await api.request('POST', '/v1/batches', {
      key,
      body: {
        per_line_clone: true,
        voice: { audio: AUDIO_URL, custom_voice_id: 'narrator01' },
        lines,
      },
    });
    expect(res.statusCode).toBe(400);
    // voice.audio's host is allowlisted (never resolved, not counted): line 20 names the 21st.
    expect(res.json().error).toMatchObject({
      code: 'validation_error',
      details: [
        { path: 'lines.20.audio', message: expect.stringMatching(/more than 20 distinct hosts/) },
      ],
    });
    const after = await api.database.pool.query<{ n: number }>(
      'select count(*)::int as n from batches',
    );
    expect(after.rows[0]?.n).toBe(before.rows[0]?.n);
  });
});
