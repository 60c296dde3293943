import { drizzle, type NodePgDatabase } from 'drizzle-orm/node-postgres';
import pg from 'pg';
import * as schema from './schema/index.js';

export type Database = NodePgDatabase<typeof schema>;
/** A database handle or an open transaction: repositories accept either. */
export type Executor = Database | Parameters<Parameters<Database['transaction']>[0]>[0];

export interface DbHandle {
  db: Database;
  pool: pg.Pool;
  close(): Promise<void>;
}

export function createDb(options: {
  url: string;
  max?: number;
  applicationName?: string;
}): DbHandle {
  const pool = new pg.Pool({
    connectionString: options.url,
    max: options.max ?? 10,
    application_name: options.applicationName ?? 'voxline',
    // Fail a request quickly during an outage instead of queueing it behind a dead connection.
    connectionTimeoutMillis: 5_000,
  });
  // An idle client that loses its server emits 'error' on the pool; without a listener that
  // would crash the process during a database restart.
  pool.on('error', () => {});
  // A client checked out of the pool (a transaction in progress) that loses its server emits
  // 'error' on the client itself, which the pool does not listen to while the client is out:
  // unhandled, that killed every worker in the middle of a Postgres outage (found by
  // chaos/test/postgres-outage.test.ts). The error still reaches the client's pending queries,
  // so the transaction fails and the client, no longer queryable, is dropped on release.
  pool.on('connect', (client) => {
    client.on('error', () => {});
  });
  const db = drizzle(pool, { schema });
  let closed = false;
  return {
    db,
    pool,
    async close() {
      if (closed) return;
      closed = true;
      await pool.end();
    },
  };
}
