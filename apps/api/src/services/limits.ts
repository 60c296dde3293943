import { countActiveLines, type Executor } from '@voxline/db';
import type { AppContext } from '../context.js';
import { ApiError } from '../errors.js';

// A backlog drains at the upstream's pace, minutes for thousands of lines: a client told to
// come back sooner would only be refused again.
const PENDING_RETRY_AFTER_S = 60;

/**
 * Refuses, with `429 too_many_pending_lines`, a write that would leave the tenant with more lines
 * not yet terminal than its limit (TENANT_MAX_PENDING_LINES or its own): one tenant's backlog
 * must not grow without bound in a store every tenant shares. Called inside the write's
 * transaction, before anything is written; redrives count like new lines.
 */
export async function assertPendingRoom(
  ctx: AppContext,
  tx: Executor,
  tenant: { tenantId: string; maxPendingLines: number | null },
  adding: number,
): Promise<void> {
  const limit = tenant.maxPendingLines ?? ctx.config.TENANT_MAX_PENDING_LINES;
  if (adding > limit) {
    throw new ApiError(
      429,
      'too_many_pending_lines',
      `this request adds ${adding} lines, more than the ${limit} a tenant may have pending`,
      { limit, pending: null, adding },
    ).withHeader('retry-after', String(PENDING_RETRY_AFTER_S));
  }
  const pending = await countActiveLines(tx, { tenantId: tenant.tenantId });
  if (pending + adding > limit) {
    throw new ApiError(
      429,
      'too_many_pending_lines',
      `${pending} lines are still pending; ${adding} more would pass the limit of ${limit}`,
      { limit, pending, adding },
    ).withHeader('retry-after', String(PENDING_RETRY_AFTER_S));
  }
}
