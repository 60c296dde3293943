import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type Api, startApi } from './harness.js';

interface Operation {
  summary?: string;
  tags?: string[];
  security?: Array<Record<string, string[]>>;
  requestBody?: unknown;
  responses?: Record<string, unknown>;
}
type Spec = {
  openapi: string;
  paths: Record<string, Record<string, Operation>>;
  components: { securitySchemes: Record<string, { type: string; scheme: string }> };
};

/**
 * Every route the app registered, read back from Fastify's own route tree
 * (`printRoutes({ commonPrefix: false })` prints one route per line, indented by depth, each
 * segment relative to its parent), as `METHOD /full/path`.
 */
function registeredRoutes(tree: string): string[] {
  const routes: string[] = [];
  const stack: string[] = [];
  for (const line of tree.split('\n')) {
    const match = /^((?:[│ ] {3})*)[├└]── (\S+) \(([^)]+)\)/.exec(line);
    if (!match?.[2] || !match[3]) continue;
    const depth = (match[1] ?? '').length / 4;
    stack.length = depth;
    stack.push(match[2]);
    const path = stack.join('');
    for (const method of match[3].split(', ')) routes.push(`${method} ${path}`);
  }
  return routes;
}

describe('OpenAPI at /docs', () => {
  let api: Api;
  let spec: Spec;
  beforeAll(async () => {
    api = await startApi();
    const res = await api.request('GET', '/docs/json');
    expect(res.statusCode).toBe(200);
    spec = res.json();
  });
  afterAll(async () => {
    await api?.close();
  });

  it('documents every registered /v1 route, with a summary, a tag and the tenant key', async () => {
    const v1 = registeredRoutes(api.app.printRoutes({ commonPrefix: false })).filter(
      (r) => r.includes(' /v1/') && !r.startsWith('HEAD '),
    );
    // A sanity floor: the parser found the routes (clones, batches, dead letters, webhooks).
    expect(v1.length).toBeGreaterThanOrEqual(15);
    for (const route of v1) {
      const [method = '', path = ''] = route.split(' ');
      const operation = spec.paths[path.replace(/:(\w+)/g, '{$1}')]?.[method.toLowerCase()];
      expect(operation, `${route} is not in the OpenAPI document`).toBeDefined();
      expect(operation?.summary, `${route} has no summary`).toMatch(/\w/);
      expect(operation?.tags?.length, `${route} has no tag`).toBe(1);
      expect(operation?.security).toEqual([{ tenantKey: [] }]);
      expect(Object.keys(operation?.responses ?? {})).toContain('401');
    }
  });

  it('documents the admin and operations routes and their credentials', () => {
    expect(spec.openapi).toBe('3.1.0');
    expect(spec.paths['/admin/tenants']?.post).toMatchObject({
      tags: ['admin'],
      summary: expect.any(String),
      security: [{ adminToken: [] }, { adminBasic: [] }],
    });
    expect(spec.paths['/metrics']?.get?.security).toEqual([
      { metricsToken: [] },
      { adminToken: [] },
      { adminBasic: [] },
    ]);
    for (const path of ['/healthz', '/readyz']) {
      expect(spec.paths[path]?.get).toMatchObject({ tags: ['operations'], security: [] });
    }
    expect(spec.components.securitySchemes).toMatchObject({
      tenantKey: { type: 'http', scheme: 'bearer' },
      adminToken: { type: 'http', scheme: 'bearer' },
      adminBasic: { type: 'http', scheme: 'basic' },
      metricsToken: { type: 'http', scheme: 'bearer' },
    });
    // Bull Board and the docs themselves are not API routes.
    expect(
      Object.keys(spec.paths).filter((p) => p.startsWith('/admin/queues') || p.startsWith('/docs')),
    ).toEqual([]);
  });

  it('carries the request schemas, with the configured limits', () => {
    const body = spec.paths['/v1/batches']?.post?.requestBody as {
      content: { 'application/json': { schema: { properties: Record<string, unknown> } } };
    };
    const schema = body.content['application/json'].schema;
    expect(schema.properties.lines).toMatchObject({ maxItems: api.config.BATCH_MAX_LINES });
  });

  it('documents the voices, the speech fields and the budget of a batch', () => {
    const voices = spec.paths['/v1/voices']?.post?.requestBody as {
      content: Record<string, { schema: { properties: Record<string, unknown> } }>;
    };
    expect(Object.keys(voices.content).sort()).toEqual(['application/json', 'multipart/form-data']);
    expect(Object.keys(spec.paths['/v1/voices/{id}'] ?? {}).sort()).toEqual([
      'delete',
      'get',
      'patch',
    ]);
    const batch = spec.paths['/v1/batches']?.post?.requestBody as {
      content: { 'application/json': { schema: { properties: Record<string, unknown> } } };
    };
    expect(Object.keys(batch.content['application/json'].schema.properties)).toEqual(
      expect.arrayContaining(['voice', 'voice_id', 'system_voice', 'speech', 'max_cost']),
    );
    expect(Object.keys(spec.paths['/v1/batches']?.post?.responses ?? {})).toContain('422');
  });

  it('serves Swagger UI at /docs', async () => {
    const res = await api.app.inject({ method: 'GET', url: '/docs' });
    expect(res.statusCode).toBe(200);
    expect(res.headers['content-type']).toMatch(/text\/html/);
    expect(res.body).toContain('swagger-ui');
  });
});
