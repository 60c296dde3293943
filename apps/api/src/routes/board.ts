import { createBullBoard } from '@bull-board/api';
import { BullMQAdapter } from '@bull-board/api/bullMQAdapter';
import { FastifyAdapter } from '@bull-board/fastify';
import type { CatalogEntry, Queues } from '@voxline/queue';
import type { FastifyInstance, FastifyPluginAsync, onSendHookHandler, RouteOptions } from 'fastify';
import type { AppContext } from '../context.js';
import {
  type OperatorRole,
  type OperatorTokens,
  operatorAuth,
  operatorRole,
  refuseWrites,
} from '../plugins/auth.js';

/**
 * Bull Board at `/admin/queues`, over every queue of the one registry (`createQueues`).
 *
 * Two board instances are mounted at the same URLs: a full one for ADMIN_TOKEN and, when
 * ADMIN_READONLY_TOKEN is set, one whose queues are all `readOnlyMode` (the UI shows no retry,
 * clean, promote, pause or add). The router picks the instance by the role the request's
 * credential proves (the `boardRole` constraint below), so viewers and admins bookmark the same
 * URL and a viewer never reaches the full board's routes. Each instance then checks the
 * credential itself; the read-only one refuses every write, and cross-site writes (CSRF) are
 * refused for the whole API in app.ts. See docs/operations.md.
 */

export const BOARD_PATH = '/admin/queues';

// What each queue is for, shown under its name on the board. A Record over the catalog, so a
// queue added there without a line here fails to compile.
const QUEUE_DESCRIPTIONS: Record<CatalogEntry, string> = {
  cloneSubmit: 'Clone jobs waiting for an upstream slot and their submit step',
  clonePoll: 'Delayed polls of tasks running upstream',
  cloneArchive: 'Results being copied into the audio store before their line succeeds',
  webhookDelivery: 'Signed webhook deliveries and their retries',
  deadLetter: 'Clone jobs that failed for good (redrive through the API or the CLI)',
  maintenance: 'The reconciler, which re-enqueues jobs Redis lost',
};

/** One adapter per queue of the registry, in catalog order. */
function boardQueues(queues: Queues, readOnlyMode: boolean): BullMQAdapter[] {
  return (Object.keys(queues) as CatalogEntry[]).map(
    (entry) =>
      new BullMQAdapter(queues[entry], {
        readOnlyMode,
        description: QUEUE_DESCRIPTIONS[entry],
      }),
  );
}

/**
 * A router constraint: which board instance serves a request. Only board URLs derive a value,
 * so every other route is matched (and its credential checked) exactly as before.
 */
type ConstraintStrategy = Parameters<FastifyInstance['addConstraintStrategy']>[0];
type Handler = NonNullable<ReturnType<ReturnType<ConstraintStrategy['storage']>['get']>>;

export function boardRoleConstraint(tokens: OperatorTokens): ConstraintStrategy {
  return {
    name: 'boardRole',
    storage() {
      const handlers = new Map<unknown, Handler>();
      return {
        get: (role) => handlers.get(role) ?? null,
        set: (role, handler) => {
          handlers.set(role, handler);
        },
      };
    },
    validate(role) {
      if (role !== 'admin' && role !== 'viewer') throw new Error(`no board role ${String(role)}`);
    },
    deriveConstraint(req) {
      if (!req.url?.startsWith(BOARD_PATH)) return undefined;
      return operatorRole(req.headers, tokens) === 'viewer' ? 'viewer' : 'admin';
    },
    mustMatchWhenDerived: false,
  };
}

// The board must not be framed by another site (a click tricked through a frame is as good as
// a forged request), and its pages and job data must not be cached by browsers or proxies.
const boardHeaders: onSendHookHandler = async (_request, reply) => {
  reply.header('x-frame-options', 'DENY');
  reply.header('content-security-policy', "frame-ancestors 'none'");
  reply.header('cache-control', 'no-store');
  reply.header('referrer-policy', 'same-origin');
};

function boardInstance(ctx: AppContext, role: OperatorRole): FastifyPluginAsync {
  return async (app) => {
    app.addHook('onRoute', (route: RouteOptions) => {
      route.constraints = { ...route.constraints, boardRole: role };
    });
    // Cross-site writes are refused before any route (app.ts); the read-only board refuses
    // every write, before the credential is even looked at.
    if (role === 'viewer') app.addHook('onRequest', refuseWrites);
    app.addHook('onRequest', operatorAuth(ctx.config, [role]));
    app.addHook('onSend', boardHeaders);

    const serverAdapter = new FastifyAdapter();
    serverAdapter.setBasePath(BOARD_PATH);
    createBullBoard({
      queues: boardQueues(ctx.queues, role === 'viewer'),
      serverAdapter,
      options: {
        uiConfig: {
          boardTitle: role === 'viewer' ? 'voxline (read-only)' : 'voxline',
          // Bull Board's own documentation is not what a voxline operator needs; ours is.
          hideDocsLink: true,
          miscLinks: [{ text: 'API reference', url: '/docs' }],
        },
      },
    });
    await app.register(serverAdapter.registerPlugin());
  };
}

export function boardRoutes(ctx: AppContext): FastifyPluginAsync {
  return async (app) => {
    await app.register(boardInstance(ctx, 'admin'), { prefix: BOARD_PATH });
    if (ctx.config.ADMIN_READONLY_TOKEN) {
      await app.register(boardInstance(ctx, 'viewer'), { prefix: BOARD_PATH });
    }
  };
}
