import { createRequire } from 'node:module';
import fastifySwagger from '@fastify/swagger';
import fastifySwaggerUi from '@fastify/swagger-ui';
import type { FastifyInstance, onRouteHookHandler } from 'fastify';
import { jsonSchemaTransform } from 'fastify-type-provider-zod';

/**
 * The OpenAPI document, generated from the same zod schemas that validate requests and
 * serialise answers (`jsonSchemaTransform`), so it cannot drift from what the API does.
 * Served at `/docs` (Swagger UI) and `/docs/json`; open to anyone, since it describes the API
 * and holds no data. Registered before the routes, which it collects as they are added.
 */

export const DOCS_PATH = '/docs';

type Security = ReadonlyArray<Record<string, readonly string[]>>;

export const SECURITY = {
  tenant: [{ tenantKey: [] }],
  admin: [{ adminToken: [] }, { adminBasic: [] }],
} as const satisfies Record<string, Security>;

const { version } = createRequire(import.meta.url)('../package.json') as { version: string };

export async function registerOpenApi(app: FastifyInstance): Promise<void> {
  await app.register(fastifySwagger, {
    openapi: {
      openapi: '3.1.0',
      info: {
        title: 'voxline',
        version,
        description:
          'Durable narration on RunningHub: clone a voice once, speak every line with it. Tenants call `/v1` with their API key; ' +
          'operators use `/admin`, Bull Board (`/admin/queues`), `/metrics`, `/healthz` and ' +
          '`/readyz`. Every error is `{ "error": { "code", "message", "details" } }`.',
      },
      tags: [
        {
          name: 'voices',
          description: 'Cloned voices: clone a reference once, then speak every line with it',
        },
        {
          name: 'clones',
          description:
            'One line at interactive priority: spoken with a voice (speech) or a voice clone of its own',
        },
        { name: 'batches', description: 'Up to BATCH_MAX_LINES lines in one request' },
        { name: 'dead-letters', description: 'Clones that failed for good, and redrive' },
        { name: 'webhooks', description: 'Endpoints, deliveries, redelivery, secret rotation' },
        { name: 'admin', description: 'Tenants; ADMIN_TOKEN only' },
        {
          name: 'callbacks',
          description:
            'Called by RunningHub when a task ends; the per-task token is the credential',
        },
        { name: 'operations', description: 'Probes and metrics' },
      ],
      components: {
        securitySchemes: {
          tenantKey: {
            type: 'http',
            scheme: 'bearer',
            bearerFormat: 'vxl_…',
            description: "A tenant's API key; every read and write is scoped to its tenant.",
          },
          adminToken: {
            type: 'http',
            scheme: 'bearer',
            description: 'ADMIN_TOKEN (or ADMIN_READONLY_TOKEN where reading is enough).',
          },
          adminBasic: {
            type: 'http',
            scheme: 'basic',
            description: 'User `admin` with ADMIN_TOKEN, or `viewer` with ADMIN_READONLY_TOKEN.',
          },
          metricsToken: {
            type: 'http',
            scheme: 'bearer',
            description: 'METRICS_TOKEN, a scrape-only secret (when configured).',
          },
        },
      },
    },
    transform: jsonSchemaTransform,
  });
  await app.register(fastifySwaggerUi, {
    routePrefix: DOCS_PATH,
    uiConfig: { docExpansion: 'list', deepLinking: true },
  });
}

/** An `onRoute` hook filling in the OpenAPI fields a route did not set itself. */
export function routeDocs(defaults: { tags?: string[]; security?: Security }): onRouteHookHandler {
  return (route) => {
    if (route.schema?.hide) return;
    route.schema ??= {};
    const schema = route.schema;
    if (defaults.tags) schema.tags ??= defaults.tags;
    if (defaults.security) schema.security ??= defaults.security;
  };
}
