import {
  type CreateTenantBody,
  DEFAULT_TENANT_MAX_IN_FLIGHT,
  type TenantCreatedResponse,
  tenantResource,
  type UpdateTenantBody,
} from '@voxline/contract';
import {
  createTenant,
  type Executor,
  getTenant,
  getUpstreamAccount,
  setAccountMaxInFlight,
  setTenantUpstreamAccount,
  type Tenant,
  updateTenantSettings,
} from '@voxline/db';
import type { AppContext } from '../context.js';
import { ApiError, notFound } from '../errors.js';

// Checked before anything is written: a key voxline cannot seal must not be accepted at all.
function requireSealing(ctx: AppContext): Buffer {
  const key = ctx.config.TENANT_KEY_ENCRYPTION_KEY;
  if (!key) {
    throw new ApiError(
      422,
      'key_encryption_not_configured',
      'this deployment cannot store tenant keys: set TENANT_KEY_ENCRYPTION_KEY',
      [
        {
          path: 'runninghub_api_key',
          message: 'cannot be stored without TENANT_KEY_ENCRYPTION_KEY',
        },
      ],
    );
  }
  return key;
}

async function resourceOf(db: Executor, tenant: Tenant) {
  const account = tenant.upstreamAccountId
    ? await getUpstreamAccount(db, { id: tenant.upstreamAccountId })
    : null;
  return tenantResource(tenant, account);
}

export async function createTenantWithSettings(
  ctx: AppContext,
  body: CreateTenantBody,
): Promise<TenantCreatedResponse> {
  const encryptionKey = body.runninghub_api_key ? requireSealing(ctx) : undefined;
  return ctx.db.transaction(async (tx) => {
    const created = await createTenant(tx, {
      name: body.name,
      ...(body.weight !== undefined ? { weight: body.weight } : {}),
      requestsPerMinute: body.requests_per_minute ?? null,
      maxPendingLines: body.max_pending_lines ?? null,
    });
    let tenant = created.tenant;
    if (body.runninghub_api_key) {
      tenant =
        (await setTenantUpstreamAccount(tx, {
          tenantId: tenant.id,
          upstream: {
            apiKey: body.runninghub_api_key,
            maxInFlight: body.runninghub_max_in_flight ?? DEFAULT_TENANT_MAX_IN_FLIGHT,
          },
          encryptionKey,
        })) ?? tenant;
    }
    return {
      ...(await resourceOf(tx, tenant)),
      tenant_id: tenant.id,
      api_key: created.apiKey,
      webhook_secret: tenant.webhookSecret,
    };
  });
}

export async function getTenantResource(ctx: AppContext, id: string) {
  const tenant = await getTenant(ctx.db, { id });
  if (!tenant) throw notFound('tenant');
  return resourceOf(ctx.db, tenant);
}

/**
 * Changes a tenant's settings. A new key is a new upstream account (its own slots); the one it
 * replaces is retired, and tasks already submitted with it are still queried with it.
 */
export async function updateTenant(ctx: AppContext, id: string, body: UpdateTenantBody) {
  const encryptionKey = body.runninghub_api_key ? requireSealing(ctx) : undefined;
  return ctx.db.transaction(async (tx) => {
    const current = await getTenant(tx, { id });
    if (!current) throw notFound('tenant');
    let tenant = await updateTenantSettings(tx, {
      id,
      set: {
        name: body.name,
        weight: body.weight,
        requestsPerMinute: body.requests_per_minute,
        maxPendingLines: body.max_pending_lines,
      },
    });
    if (body.runninghub_api_key !== undefined) {
      const previous = current.upstreamAccountId
        ? await getUpstreamAccount(tx, { id: current.upstreamAccountId })
        : null;
      tenant = await setTenantUpstreamAccount(tx, {
        tenantId: id,
        upstream: body.runninghub_api_key
          ? {
              apiKey: body.runninghub_api_key,
              maxInFlight:
                body.runninghub_max_in_flight ??
                previous?.maxInFlight ??
                DEFAULT_TENANT_MAX_IN_FLIGHT,
            }
          : null,
        encryptionKey,
      });
    } else if (body.runninghub_max_in_flight !== undefined) {
      const account = await setAccountMaxInFlight(tx, {
        tenantId: id,
        maxInFlight: body.runninghub_max_in_flight,
      });
      if (!account) {
        throw new ApiError(
          422,
          'no_own_key',
          'the tenant runs on the shared account; give runninghub_api_key with its limit',
          [{ path: 'runninghub_max_in_flight', message: 'the tenant has no key of its own' }],
        );
      }
    }
    if (!tenant) throw notFound('tenant');
    return resourceOf(tx, tenant);
  });
}
