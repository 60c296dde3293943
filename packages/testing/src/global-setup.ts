import { createHash } from 'node:crypto';
import { readdir, readFile } from 'node:fs/promises';
import { MIGRATIONS_FOLDER, runMigrations } from '@voxline/db';
import pg from 'pg';
import type { TestProject } from 'vitest/node';
import './context.js';
import { resolveServices } from './services.js';

// The template's name follows the migrations' content, so a changed migration gets a new one.
async function migrationsDigest(): Promise<string> {
  const hash = createHash('sha256');
  for (const name of (await readdir(MIGRATIONS_FOLDER)).sort()) {
    if (name.endsWith('.sql')) hash.update(await readFile(`${MIGRATIONS_FOLDER}/${name}`));
  }
  return hash.digest('hex').slice(0, 12);
}

function withDatabase(url: string, name: string): string {
  const u = new URL(url);
  u.pathname = `/${name}`;
  return u.toString();
}

/** Runs once per `vitest run`: finds the services and builds a migrated template database. */
export default async function setup(project: TestProject): Promise<() => Promise<void>> {
  const services = await resolveServices();
  const template = `voxline_tpl_${await migrationsDigest()}`;
  const admin = new pg.Client({ connectionString: services.databaseUrl });
  await admin.connect();
  try {
    const exists = await admin.query('select 1 from pg_database where datname = $1', [template]);
    if (exists.rowCount === 0) {
      await admin.query(`create database ${pg.escapeIdentifier(template)}`);
      await runMigrations(withDatabase(services.databaseUrl, template));
    }
  } finally {
    await admin.end();
  }
  project.provide('databaseUrl', services.databaseUrl);
  project.provide('redisUrl', services.redisUrl);
  project.provide('templateDatabase', template);
  return () => services.stop();
}
