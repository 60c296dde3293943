import { createTestDatabase, type TestDatabase } from '@voxline/testing';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { pendingMigrations, runMigrations } from '../src/index.js';

const TABLES = [
  'api_keys',
  'audio_results',
  'batches',
  'clone_job_events',
  'clone_jobs',
  'dead_letters',
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
    expect(rows[0].n).toBe(1);
  });
});
