import { readFile } from 'node:fs/promises';
import type { HTTPMethods } from 'fastify';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type Api, startApi } from './harness.js';

interface Operation {
  parameters?: Array<{ in: string; name: string }>;
}
type Spec = { paths: Record<string, Record<string, Operation>> };

interface Row {
  method: string;
  /** Fastify's form, `:id` for a parameter. */
  path: string;
  /** The query parameters the row names (`?status=&limit=`), or null when it names none. */
  query: string[] | null;
}

/**
 * The routes of the README's "Routes" table: every `METHOD /path` in a row's first cell (a cell
 * may name several, as `GET /docs`, `GET /docs/json`).
 */
function readmeRoutes(readme: string): Row[] {
  const section = /^## Routes\n([\s\S]*?)(?=^## )/m.exec(readme)?.[1] ?? '';
  const rows: Row[] = [];
  for (const line of section.split('\n')) {
    if (!line.startsWith('|')) continue;
    const cell = line.split('|')[1] ?? '';
    for (const [, method = '', target = ''] of cell.matchAll(/`([A-Z]+) (\/[^`\s]*)`/g)) {
      const [path = '', query] = target.split('?');
      rows.push({
        method,
        path,
        query:
          query === undefined ? null : query.split('&').map((pair) => pair.split('=')[0] ?? ''),
      });
    }
  }
  return rows;
}

const key = (method: string, path: string) => `${method} ${path}`;

describe('the route table of apps/api/README.md', () => {
  let api: Api;
  let spec: Spec;
  let rows: Row[];
  beforeAll(async () => {
    api = await startApi();
    const res = await api.request('GET', '/docs/json');
    expect(res.statusCode).toBe(200);
    spec = res.json();
    rows = readmeRoutes(await readFile(new URL('../README.md', import.meta.url), 'utf8'));
  });
  afterAll(async () => {
    await api?.close();
  });

  it('lists every operation of the OpenAPI document', () => {
    const listed = new Set(rows.map((row) => key(row.method, row.path)));
    const documented = Object.entries(spec.paths).flatMap(([path, operations]) =>
      Object.keys(operations).map((method) =>
        key(method.toUpperCase(), path.replace(/\{(\w+)\}/g, ':$1')),
      ),
    );
    // A sanity floor: clones, batches, dead letters, webhooks, admin, operations.
    expect(documented.length).toBeGreaterThanOrEqual(20);
    expect(documented.filter((route) => !listed.has(route))).toEqual([]);
  });

  it('lists only routes the app serves, each once', () => {
    // Bull Board's routes are registered twice (full and read-only) under a role constraint.
    const served = (row: Row, constraints?: { boardRole: string }) =>
      api.app.hasRoute({
        method: row.method as HTTPMethods,
        url: row.path,
        ...(constraints ? { constraints } : {}),
      });
    const unknown = rows.filter((row) => !served(row) && !served(row, { boardRole: 'admin' }));
    expect(unknown).toEqual([]);
    const keys = rows.map((row) => key(row.method, row.path));
    expect(keys.filter((k, i) => keys.indexOf(k) !== i)).toEqual([]);
  });

  it("names a route's query parameters exactly as the OpenAPI document has them", () => {
    const withQuery = rows.filter((r) => r.query !== null);
    expect(withQuery.length).toBeGreaterThan(0);
    for (const row of withQuery) {
      const operation = spec.paths[row.path.replace(/:(\w+)/g, '{$1}')]?.[row.method.toLowerCase()];
      const names = (operation?.parameters ?? [])
        .filter((p) => p.in === 'query')
        .map((p) => p.name);
      expect(row.query?.slice().sort(), key(row.method, row.path)).toEqual(names.sort());
    }
  });
});
