import { copyFile, mkdir, mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createTestDatabase, type TestDatabase } from '@voxline/testing';
import { drizzle } from 'drizzle-orm/node-postgres';
import { migrate } from 'drizzle-orm/node-postgres/migrator';
import pg from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { MIGRATIONS_FOLDER, pendingMigrations, runMigrations } from '../src/index.js';

interface Journal {
  entries: Array<{ tag: string }>;
}
const journal = JSON.parse(
  await readFile(join(MIGRATIONS_FOLDER, 'meta/_journal.json'), 'utf8'),
) as Journal;

const TABLES = [
  'api_keys',
  'audio_results',
  'batches',
  'clone_job_events',
  'clone_jobs',
  'dead_letters',
  'retired_webhook_secrets',
  'tenants',
  'webhook_attempts',
  'webhook_deliveries',
  'webhook_endpoints',
  'webhook_events',
];

async function schemaFingerprint(db: TestDatabase) {
  const { rows } = await db.pool.query(
    `select table_name, column_name, data_type, is_nullable from information_schema.columns
     where table_schema = 'public' order by table_name, column_name`,
  );
  const indexes = await db.pool.query(
    `select indexname, indexdef from pg_indexes where schemaname = 'public' order by indexname`,
  );
  return { columns: rows, indexes: indexes.rows };
}

describe('migrations', () => {
  let db: TestDatabase;
  beforeAll(async () => {
    db = await createTestDatabase();
  });
  afterAll(async () => {
    await db.drop();
  });

  it('create every table and leave nothing pending', async () => {
    const { rows } = await db.pool.query(
      `select table_name from information_schema.tables where table_schema = 'public' order by 1`,
    );
    expect(rows.map((r: { table_name: string }) => r.table_name)).toEqual(TABLES);
    expect(await pendingMigrations(db.db)).toEqual([]);
  });

  it('change nothing when run again', async () => {
    const before = await schemaFingerprint(db);
    await runMigrations(db.url);
    await runMigrations(db.url);
    expect(await schemaFingerprint(db)).toEqual(before);
    const { rows } = await db.pool.query(
      'select count(*)::int as n from drizzle.__drizzle_migrations',
    );
    expect(rows[0].n).toBe(journal.entries.length);
  });
});

describe('migration 0001 (retired webhook secrets)', () => {
  let dir: string;
  let db: TestDatabase;
  beforeAll(async () => {
    dir = await mkdtemp(join(tmpdir(), 'voxline-migrations-'));
    db = await createTestDatabase();
  });
  afterAll(async () => {
    await db.drop();
    await rm(dir, { recursive: true, force: true });
  });

  it("moves each tenant's previous secret into its own row, expiring where its grace did", async () => {
    // A database as migration 0000 left it: replay only that one into an empty schema.
    await db.pool.query(
      'drop schema public cascade; drop schema drizzle cascade; create schema public',
    );
    await mkdir(join(dir, 'meta'));
    const [first] = journal.entries;
    if (!first) throw new Error('empty journal');
    await copyFile(join(MIGRATIONS_FOLDER, `${first.tag}.sql`), join(dir, `${first.tag}.sql`));
    await writeFile(
      join(dir, 'meta/_journal.json'),
      JSON.stringify({ ...journal, entries: [first] }),
    );
    const client = new pg.Client({ connectionString: db.url });
    await client.connect();
    try {
      client.on('notice', () => {});
      await migrate(drizzle(client), { migrationsFolder: dir });
    } finally {
      await client.end();
    }
    const rotatedAt = new Date('2026-01-01T00:00:00Z');
    await db.pool.query(
      `insert into tenants (id, name, webhook_secret, previous_webhook_secret, secret_rotated_at)
       values ('00000000-0000-7000-8000-000000000001', 'rotated', 'whsec_new', 'whsec_old', $1),
              ('00000000-0000-7000-8000-000000000002', 'never', 'whsec_only', null, null)`,
      [rotatedAt],
    );

    await runMigrations(db.url);
    expect(await pendingMigrations(db.db)).toEqual([]);
    const { rows } = await db.pool.query(
      'select tenant_id, secret, retired_at, expires_at from retired_webhook_secrets',
    );
    expect(rows).toEqual([
      {
        tenant_id: '00000000-0000-7000-8000-000000000001',
        secret: 'whsec_old',
        retired_at: rotatedAt,
        expires_at: new Date(rotatedAt.getTime() + 24 * 3_600_000),
      },
    ]);
    const tenants = await db.pool.query('select name, webhook_secret from tenants order by name');
    expect(tenants.rows).toEqual([
      { name: 'never', webhook_secret: 'whsec_only' },
      { name: 'rotated', webhook_secret: 'whsec_new' },
    ]);
  });
});
