import { readFile } from 'node:fs/promises';
import { fileURLToPath } from 'node:url';
import { sql } from 'drizzle-orm';
import { drizzle } from 'drizzle-orm/node-postgres';
import { migrate } from 'drizzle-orm/node-postgres/migrator';
import pg from 'pg';
import type { Executor } from './client.js';

export const MIGRATIONS_FOLDER = fileURLToPath(new URL('../../../migrations', import.meta.url));

// Any constant: API and worker processes starting together must not apply migrations twice.
const MIGRATION_LOCK = 7_263_001;

/**
 * Applies every pending migration, holding a session advisory lock on one dedicated
 * connection so concurrent starters wait for each other. Safe to run any number of times.
 */
export async function runMigrations(databaseUrl: string): Promise<void> {
  const client = new pg.Client({
    connectionString: databaseUrl,
    application_name: 'voxline-migrate',
  });
  await client.connect();
  try {
    await client.query('select pg_advisory_lock($1)', [MIGRATION_LOCK]);
    // drizzle logs NOTICEs ("schema already exists") through pg; they are expected on re-runs.
    client.on('notice', () => {});
    await migrate(drizzle(client), { migrationsFolder: MIGRATIONS_FOLDER });
  } finally {
    await client.end();
  }
}

/** Migrations in the journal that the database has not applied; empty when up to date. */
export async function pendingMigrations(db: Executor): Promise<string[]> {
  const journal = JSON.parse(await readFile(`${MIGRATIONS_FOLDER}/meta/_journal.json`, 'utf8')) as {
    entries: Array<{ tag: string; when: number }>;
  };
  const present = await db.execute<{ present: boolean }>(
    sql`select to_regclass('drizzle.__drizzle_migrations') is not null as present`,
  );
  if (!present.rows[0]?.present) return journal.entries.map((e) => e.tag);
  const rows = await db.execute<{ created_at: string }>(
    sql`select created_at from drizzle.__drizzle_migrations`,
  );
  const applied = new Set(rows.rows.map((r) => Number(r.created_at)));
  return journal.entries.filter((e) => !applied.has(e.when)).map((e) => e.tag);
}

/**
 * Creates the database named in the URL when the server lacks it, so a fresh machine needs
 * no manual `createdb`. Connects to the server's `postgres` database to do so.
 */
export async function ensureDatabase(databaseUrl: string): Promise<void> {
  const url = new URL(databaseUrl);
  const name = decodeURIComponent(url.pathname.slice(1));
  if (!name) return;
  url.pathname = '/postgres';
  const client = new pg.Client({ connectionString: url.toString() });
  await client.connect();
  try {
    const found = await client.query('select 1 from pg_database where datname = $1', [name]);
    if (found.rowCount === 0) {
      await client
        .query(`create database ${pg.escapeIdentifier(name)}`)
        .catch((error: { code?: string }) => {
          // 42P04 duplicate_database: another process created it first.
          if (error.code !== '42P04') throw error;
        });
    }
  } finally {
    await client.end();
  }
}
