import { defineConfig } from 'vitest/config';
import base from './vitest.config.js';

// The chaos scenarios: real processes, outages and restarts; minutes, not seconds.
export default defineConfig({
  ...base,
  test: { ...base.test, include: ['chaos/test/**/*.test.ts'], fileParallelism: false },
});
