import { describe, expect, it } from 'vitest';
import { ConfigError, loadConfig, parseList } from '../src/index.js';

describe('loadConfig', () => {
  it('works out of the box with documented local defaults', () => {
    const config = loadConfig({});
    expect(config.DATABASE_URL).toBe('postgres://postgres@127.0.0.1:5432/voxline');
    expect(config.REDIS_URL).toBe('redis://127.0.0.1:6379');
    expect(config.QUEUE_PREFIX).toBe('{voxline}');
    expect(config.PORT).toBe(3000);
    expect(config.RUNNINGHUB_MAX_IN_FLIGHT).toBe(3);
    expect(config.RUNNINGHUB_BASE_URL).toBeUndefined();
  });

  it('coerces numbers and treats empty strings as unset', () => {
    const config = loadConfig({
      PORT: '8080',
      RUNNINGHUB_MAX_IN_FLIGHT: '',
      WORKER_CONCURRENCY: '7',
    });
    expect(config.PORT).toBe(8080);
    expect(config.RUNNINGHUB_MAX_IN_FLIGHT).toBe(3);
    expect(config.WORKER_CONCURRENCY).toBe(7);
  });

  it('names every bad variable in one message, without echoing values', () => {
    let error: unknown;
    try {
      loadConfig({
        PORT: 'eighty',
        REDIS_URL: 'http://not-redis',
        LOG_LEVEL: 'loud',
        QUEUE_PREFIX: 'voxline',
        RUNNINGHUB_BASE_URL: 'https://www.runninghub.ai',
        ADMIN_TOKEN: 'short-secret',
      });
    } catch (e) {
      error = e;
    }
    expect(error).toBeInstanceOf(ConfigError);
    const problems = (error as ConfigError).problems.map((p) => p.variable).sort();
    expect(problems).toEqual(
      [
        'ADMIN_TOKEN',
        'LOG_LEVEL',
        'PORT',
        'QUEUE_PREFIX',
        'REDIS_URL',
        'RUNNINGHUB_API_KEY',
      ].sort(),
    );
    const message = (error as ConfigError).message;
    expect(message).toMatch(/^Invalid configuration:\n {2}- /);
    expect(message).not.toContain('short-secret');
  });

  it('refuses the development admin token in production', () => {
    expect(() => loadConfig({ NODE_ENV: 'production' })).toThrow(
      /ADMIN_TOKEN: must be set in production/,
    );
    expect(loadConfig({ NODE_ENV: 'production', ADMIN_TOKEN: 'a'.repeat(32) }).ADMIN_TOKEN).toBe(
      'a'.repeat(32),
    );
  });

  it('checks that the poll interval bounds are ordered', () => {
    expect(() =>
      loadConfig({ POLL_MIN_INTERVAL_MS: '5000', POLL_MAX_INTERVAL_MS: '1000' }),
    ).toThrow(/POLL_MIN_INTERVAL_MS/);
  });
});

describe('parseList', () => {
  it('splits, trims and drops empties', () => {
    expect(parseList(' a, b ,,c ')).toEqual(['a', 'b', 'c']);
    expect(parseList(undefined)).toEqual([]);
  });
});
