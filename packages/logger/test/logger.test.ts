import { Writable } from 'node:stream';
import { describe, expect, it } from 'vitest';
import { createLogger, redactSecrets } from '../src/index.js';

function capture() {
  const lines: string[] = [];
  const destination = new Writable({
    write(chunk, _enc, cb) {
      lines.push(chunk.toString());
      cb();
    },
  });
  return { lines, destination };
}

describe('logger', () => {
  it('redacts secret fields at any usual depth and carries child ids', () => {
    const { lines, destination } = capture();
    const logger = createLogger({ name: 't', destination });
    logger.child({ jobId: 'j1', batchId: 'b1', tenantId: 't1' }).info(
      {
        req: { headers: { authorization: 'Bearer vxl_abcdefghijkl' } },
        apiKey: 'k-123456',
        nested: { webhookSecret: 's-1' },
      },
      'hello',
    );
    const line = JSON.parse(lines[0] ?? '{}');
    expect(line).toMatchObject({ jobId: 'j1', batchId: 'b1', tenantId: 't1', msg: 'hello' });
    expect(line.req.headers.authorization).toBe('[redacted]');
    expect(line.apiKey).toBe('[redacted]');
    expect(line.nested.webhookSecret).toBe('[redacted]');
  });

  it('masks secret-shaped text and known secret values inside messages and errors', () => {
    const { lines, destination } = capture();
    const logger = createLogger({ name: 't', destination, secrets: ['upstream-key-987654'] });
    logger.error(
      { err: new Error('upstream refused key upstream-key-987654 with whsec_AAAAAAAAAAAAAAAA') },
      'call with Authorization: Bearer vxl_zzzzzzzzzzzzzzz failed',
    );
    const text = lines.join('');
    expect(text).not.toContain('upstream-key-987654');
    expect(text).not.toContain('whsec_AAAA');
    expect(text).not.toContain('vxl_zzzz');
    expect(text).toContain('[redacted]');
    // The error itself survives scrubbing: its message and stack are still there.
    expect(text).toContain('upstream refused key');
    expect(text).toContain('"stack"');
  });

  it('redacts credentials in URLs', () => {
    expect(redactSecrets('postgres://user:hunter2@db:5432/x')).toBe(
      'postgres://user:[redacted]@db:5432/x',
    );
  });
});
