import { fileURLToPath } from 'node:url';
import { defineConfig } from 'vitest/config';

const packages = fileURLToPath(new URL('./packages/', import.meta.url));

export default defineConfig({
  resolve: {
    // Tests run workspace packages from source; production runs their built dist/.
    // Nothing imports an app: the simulator is a package too.
    alias: [{ find: /^@voxline\/([a-z-]+)$/, replacement: `${packages}$1/src/index.ts` }],
  },
  test: {
    // The chaos scenarios run apart: `pnpm test:chaos` (vitest.chaos.config.ts), `pnpm chaos`.
    include: ['packages/*/test/**/*.test.ts', 'apps/*/test/**/*.test.ts'],
    globalSetup: ['packages/testing/src/global-setup.ts'],
    // Forks, not threads: several suites spawn and SIGKILL child processes.
    pool: 'forks',
    testTimeout: 60_000,
    hookTimeout: 120_000,
    reporters: ['default'],
  },
});
