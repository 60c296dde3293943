import { randomBytes } from 'node:crypto';
import { createDb, type DbHandle } from '@voxline/db';
import pg from 'pg';
import { inject } from 'vitest';
import './context.js';

export interface TestDatabase extends DbHandle {
  url: string;
  name: string;
  /** Closes the pool and drops the database. */
  drop(): Promise<void>;
}

function withDatabase(url: string, name: string): string {
  const u = new URL(url);
  u.pathname = `/${name}`;
  return u.toString();
}

/** A fresh database cloned from the migrated template: isolated, and fast (no migration replay). */
export async function createTestDatabase(): Promise<TestDatabase> {
  const serverUrl = inject('databaseUrl');
  const name = `voxline_t_${randomBytes(6).toString('hex')}`;
  const admin = new pg.Client({ connectionString: serverUrl });
  await admin.connect();
  try {
    await admin.query(
      `create database ${pg.escapeIdentifier(name)} template ${pg.escapeIdentifier(inject('templateDatabase'))}`,
    );
  } finally {
    await admin.end();
  }
  const url = withDatabase(serverUrl, name);
  const handle = createDb({ url, max: 10, applicationName: 'voxline-test' });
  return {
    ...handle,
    url,
    name,
    async drop() {
      await handle.close();
      const client = new pg.Client({ connectionString: serverUrl });
      await client.connect();
      try {
        await client.query(`drop database if exists ${pg.escapeIdentifier(name)} with (force)`);
      } finally {
        await client.end();
      }
    },
  };
}
