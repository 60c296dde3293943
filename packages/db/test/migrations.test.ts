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
  'upstream_accounts',
  'voice_events',
  'voice_references',
  'voices',
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

/** Leaves `db` as the first `count` migrations left it: an empty schema, those replayed. */
async function replayFirst(db: TestDatabase, dir: string, count: number): Promise<void> {
  await db.pool.query(
    'drop schema public cascade; drop schema if exists drizzle cascade; create schema public',
  );
  await rm(dir, { recursive: true, force: true });
  await mkdir(join(dir, 'meta'), { recursive: true });
  const entries = journal.entries.slice(0, count);
  for (const entry of entries) {
    await copyFile(join(MIGRATIONS_FOLDER, `${entry.tag}.sql`), join(dir, `${entry.tag}.sql`));
  }
  await writeFile(join(dir, 'meta/_journal.json'), JSON.stringify({ ...journal, entries }));
  const client = new pg.Client({ connectionString: db.url });
  await client.connect();
  try {
    client.on('notice', () => {});
    await migrate(drizzle(client), { migrationsFolder: dir });
  } finally {
    await client.end();
  }
}

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
    // A database as migration 0000 left it.
    await replayFirst(db, dir, 1);
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

describe('migrations 0002 to 0004 (voices, stored audio, accounts)', () => {
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

  it('keeps lines from before voices readable as voice-clone lines with their cost', async () => {
    await replayFirst(db, dir, 2);
    const tenant = '00000000-0000-7000-8000-000000000001';
    const paid = '00000000-0000-7000-8000-0000000000a1';
    const unreported = '00000000-0000-7000-8000-0000000000a2';
    await db.pool.query(
      `insert into tenants (id, name, webhook_secret) values ($1, 'old', 'whsec_x')`,
      [tenant],
    );
    for (const id of [paid, unreported]) {
      await db.pool.query(
        `insert into clone_jobs (id, tenant_id, status, priority, request)
         values ($1, $2, 'succeeded', 1, $3)`,
        [
          id,
          tenant,
          { audio: 'https://cdn.example.com/a.wav', custom_voice_id: 'narrator01', text: 'x' },
        ],
      );
    }
    await db.pool.query(
      `insert into audio_results (clone_job_id, url, upstream_task_id, usage, raw)
       values ($1, 'https://up.example.com/1.wav', '1', '{"consumeMoney": "3.12"}', '{}'),
              ($2, 'https://up.example.com/2.wav', '2', '{"consumeMoney": null}', '{}')`,
      [paid, unreported],
    );
    // Two registrations of one URL: the newer is deleted by 0004 before its unique index.
    await db.pool.query(
      `insert into webhook_endpoints (id, tenant_id, url, event_types) values
         ('00000000-0000-7000-8000-0000000000e1', $1, 'https://hooks.example.com/x', '{clone.succeeded}'),
         ('00000000-0000-7000-8000-0000000000e2', $1, 'https://hooks.example.com/x', '{clone.failed}')`,
      [tenant],
    );

    await runMigrations(db.url);
    expect(await pendingMigrations(db.db)).toEqual([]);
    const { rows } = await db.pool.query(
      `select id, kind, voice_id, estimated_cost::float8 as estimated, actual_cost::float8 as actual
         from clone_jobs order by id`,
    );
    expect(rows).toEqual([
      { id: paid, kind: 'voice_clone', voice_id: null, estimated: 3.12, actual: 3.12 },
      { id: unreported, kind: 'voice_clone', voice_id: null, estimated: 3.12, actual: null },
    ]);
    const endpoints = await db.pool.query(
      'select id, deleted_at is not null as deleted from webhook_endpoints order by id',
    );
    expect(endpoints.rows).toEqual([
      { id: '00000000-0000-7000-8000-0000000000e1', deleted: false },
      { id: '00000000-0000-7000-8000-0000000000e2', deleted: true },
    ]);
    const tenants = await db.pool.query('select weight, upstream_account_id from tenants');
    expect(tenants.rows).toEqual([{ weight: 1, upstream_account_id: null }]);
  });
});
