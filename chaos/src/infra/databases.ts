import { randomBytes } from 'node:crypto';
import { createDb, runMigrations } from '@voxline/db';

export interface ScenarioDatabase {
  url: string;
  /** Drops it (the caller has closed its own connections first). */
  drop(): Promise<void>;
}

function withDatabase(serverUrl: string, name: string): string {
  const url = new URL(serverUrl);
  url.pathname = `/${name}`;
  return url.toString();
}

/** Double quotes for an identifier made only of [a-z0-9_], as ours are. */
function identifier(name: string): string {
  if (!/^[a-z0-9_]+$/.test(name)) throw new Error(`unexpected database name ${name}`);
  return `"${name}"`;
}

/**
 * Fresh databases on a Postgres server: cloned from `template` when given (the vitest global
 * setup's migrated template), else created and migrated (the soak runner).
 */
export function serverDatabases(
  serverUrl: string,
  template?: string,
): () => Promise<ScenarioDatabase> {
  return async () => {
    const name = `voxline_chaos_${randomBytes(6).toString('hex')}`;
    const admin = createDb({ url: serverUrl, max: 1, applicationName: 'voxline-chaos' });
    try {
      await admin.pool.query(
        `create database ${identifier(name)}${template ? ` template ${identifier(template)}` : ''}`,
      );
    } finally {
      await admin.close();
    }
    const url = withDatabase(serverUrl, name);
    if (!template) await runMigrations(url);
    return {
      url,
      async drop() {
        const handle = createDb({ url: serverUrl, max: 1, applicationName: 'voxline-chaos' });
        try {
          await handle.pool.query(`drop database if exists ${identifier(name)} with (force)`);
        } finally {
          await handle.close();
        }
      },
    };
  };
}
