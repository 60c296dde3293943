import { defineConfig } from 'drizzle-kit';

// Only `pnpm db:generate` reads this; apps and tests apply migrations with src/migrate.ts.
export default defineConfig({
  dialect: 'postgresql',
  schema: './packages/db/src/schema/*.ts',
  out: './migrations',
});
