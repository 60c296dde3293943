import { describe, expect, it } from 'vitest';
import { ConfigError, loadConfig } from '../src/index.js';

function problems(env: Record<string, string>) {
  try {
    loadConfig(env);
  } catch (error) {
    if (error instanceof ConfigError) return error.problems;
    throw error;
  }
  return [];
}

describe('REDIS_CLUSTER_NODES', () => {
  it('is unset by default: one Redis at REDIS_URL', () => {
    expect(loadConfig({}).REDIS_CLUSTER_NODES).toBeUndefined();
  });

  it('parses seed nodes, names and IPv6 addresses alike', () => {
    const config = loadConfig({
      REDIS_CLUSTER_NODES: 'redis-0.redis:6379, 10.0.0.7:7001,[::1]:7002',
    });
    expect(config.REDIS_CLUSTER_NODES).toEqual([
      { host: 'redis-0.redis', port: 6379 },
      { host: '10.0.0.7', port: 7001 },
      { host: '::1', port: 7002 },
    ]);
  });

  it.each(['redis://10.0.0.7:7001', '10.0.0.7', '10.0.0.7:0', '10.0.0.7:70000', ','])(
    'refuses %j, naming the variable',
    (value) => {
      expect(problems({ REDIS_CLUSTER_NODES: value })).toEqual([
        { variable: 'REDIS_CLUSTER_NODES', message: expect.stringMatching(/host:port/) },
      ]);
    },
  );

  it('refuses a cluster together with a REDIS_URL of its own', () => {
    expect(
      problems({ REDIS_CLUSTER_NODES: '10.0.0.7:7001', REDIS_URL: 'redis://cache:6379' }),
    ).toEqual([{ variable: 'REDIS_CLUSTER_NODES', message: expect.stringMatching(/REDIS_URL/) }]);
  });
});
