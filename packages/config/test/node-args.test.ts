import { readFile } from 'node:fs/promises';
import { describe, expect, it } from 'vitest';
import { WORKER_NODE_ARGS } from '../src/index.js';

const WORKER_SCRIPT = 'apps/worker/dist/main.js';

describe('the worker’s node flags', () => {
  it.each(['Dockerfile', 'docker-compose.yml', 'package.json'])(
    'are on every line of %s that starts a worker',
    async (file) => {
      const text = await readFile(new URL(`../../../${file}`, import.meta.url), 'utf8');
      const launches = text.split('\n').filter((line) => line.includes(WORKER_SCRIPT));
      expect(launches.length).toBeGreaterThan(0);
      for (const line of launches) {
        for (const flag of WORKER_NODE_ARGS) expect(line).toContain(flag);
      }
    },
  );
});
