import { describe, expect, it } from 'vitest';
import { isLoopbackHost, loadConfig } from '../src/index.js';

const problemsOf = (env: Record<string, string>): string[] => {
  try {
    loadConfig(env);
    return [];
  } catch (error) {
    return (error as Error).message.split('\n').slice(1);
  }
};

describe('the development ADMIN_TOKEN', () => {
  it('is refused whenever HOST is not a loopback address, in every NODE_ENV', () => {
    for (const HOST of ['0.0.0.0', '::', '10.1.2.3', '192.168.0.10', 'api.example.com']) {
      for (const NODE_ENV of ['development', 'test']) {
        expect(problemsOf({ HOST, NODE_ENV }), `${HOST} ${NODE_ENV}`).toEqual([
          '  - ADMIN_TOKEN: must be set when HOST is not a loopback address (the default is public)',
        ]);
      }
      expect(loadConfig({ HOST, ADMIN_TOKEN: 'b'.repeat(24) }).HOST).toBe(HOST);
    }
  });

  it('is accepted on loopback addresses outside production', () => {
    for (const HOST of ['127.0.0.1', '127.8.9.10', '::1', '[::1]', 'localhost', 'LOCALHOST']) {
      expect(loadConfig({ HOST }).ADMIN_TOKEN).toBe('voxline-dev-admin-token');
    }
    expect(problemsOf({ HOST: '127.0.0.1', NODE_ENV: 'production' })).toEqual([
      '  - ADMIN_TOKEN: must be set in production',
    ]);
  });
});

describe('isLoopbackHost', () => {
  it('knows 127.0.0.0/8, ::1 and localhost, and nothing else', () => {
    for (const host of ['127.0.0.1', '127.255.255.254', '::1', '::ffff:127.0.0.1', 'localhost']) {
      expect(isLoopbackHost(host), host).toBe(true);
    }
    for (const host of [
      '0.0.0.0',
      '::',
      '128.0.0.1',
      '::ffff:10.0.0.1',
      'localhost.evil.com',
      '',
    ]) {
      expect(isLoopbackHost(host), host).toBe(false);
    }
  });
});

describe('RUNNINGHUB_API_KEY', () => {
  it('is refused without RUNNINGHUB_BASE_URL, naming the missing variable', () => {
    expect(problemsOf({ RUNNINGHUB_API_KEY: 'rh-real-key-0123456789' })).toEqual([
      '  - RUNNINGHUB_BASE_URL: is required when RUNNINGHUB_API_KEY is set (unset, the key would go to the simulator over plain HTTP)',
    ]);
    const config = loadConfig({
      RUNNINGHUB_API_KEY: 'rh-real-key-0123456789',
      RUNNINGHUB_BASE_URL: 'https://www.runninghub.ai',
    });
    expect(config.RUNNINGHUB_BASE_URL).toBe('https://www.runninghub.ai');
  });
});

describe('the HTTP server timeouts', () => {
  it('default to values that bound slow clients and outlast keep-alive clients', () => {
    const config = loadConfig({});
    expect(config.HTTP_HEADERS_TIMEOUT_MS).toBe(10_000);
    expect(config.HTTP_REQUEST_TIMEOUT_MS).toBe(120_000);
    expect(config.HTTP_CONNECTION_TIMEOUT_MS).toBe(60_000);
    expect(config.HTTP_KEEP_ALIVE_TIMEOUT_MS).toBe(72_000);
  });

  it('refuse a headers timeout longer than the request timeout, as Node would', () => {
    expect(
      problemsOf({ HTTP_HEADERS_TIMEOUT_MS: '5000', HTTP_REQUEST_TIMEOUT_MS: '1000' }),
    ).toEqual(['  - HTTP_HEADERS_TIMEOUT_MS: must not exceed HTTP_REQUEST_TIMEOUT_MS']);
  });
});
