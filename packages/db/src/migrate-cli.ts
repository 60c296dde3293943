import { ConfigError, loadConfig } from '@voxline/config';
import { createDb } from './client.js';
import { ensureDatabase, pendingMigrations, runMigrations } from './migrate.js';

// `pnpm db:migrate`: applies migrations to DATABASE_URL and says what it did.
try {
  const config = loadConfig();
  await ensureDatabase(config.DATABASE_URL);
  const handle = createDb({ url: config.DATABASE_URL, max: 1, applicationName: 'voxline-migrate' });
  try {
    const pending = await pendingMigrations(handle.db);
    await runMigrations(config.DATABASE_URL);
    console.log(
      pending.length
        ? `applied ${pending.length} migration(s): ${pending.join(', ')}`
        : 'database is up to date',
    );
  } finally {
    await handle.close();
  }
} catch (error) {
  console.error(
    error instanceof ConfigError ? error.message : `migration failed: ${(error as Error).message}`,
  );
  process.exit(1);
}
