export { createDb, type Database, type DbHandle, type Executor } from './client.js';
export { newId } from './ids.js';
export { ensureDatabase, MIGRATIONS_FOLDER, pendingMigrations, runMigrations } from './migrate.js';
export * from './repos/clone-jobs.js';
export * from './repos/tenants.js';
export * from './schema/index.js';
