import type { FastifyInstance } from 'fastify';
import { ZodError } from 'zod';
import { bearerOf, sameSecret } from './keys.js';
import type { Scenario } from './scenario.js';
import type { Simulator } from './simulator.js';

/** /_sim/*: scenario, stats, tasks, voices, reset; behind their own token, not an API key. */
export function registerControlRoutes(
  app: FastifyInstance,
  sim: Simulator,
  controlToken: string,
): void {
  app.register(
    async (scope) => {
      scope.addHook('onRequest', async (req, reply) => {
        const token = bearerOf(req.headers.authorization);
        if (!token || !sameSecret(token, controlToken)) {
          return reply.code(401).send({ error: 'control token required' });
        }
      });
      scope.get('/scenario', async () => sim.scenario());
      scope.put('/scenario', async (req, reply) => {
        try {
          sim.setScenario((req.body ?? {}) as Scenario);
        } catch (error) {
          if (!(error instanceof ZodError)) throw error;
          return reply.code(400).send({
            error: 'invalid scenario',
            issues: error.issues.map((i) => ({ path: i.path.join('.'), message: i.message })),
          });
        }
        return sim.scenario();
      });
      scope.get('/stats', async () => sim.stats());
      scope.get('/tasks', async () => ({ tasks: sim.tasks() }));
      scope.get<{ Params: { taskId: string } }>('/tasks/:taskId', async (req, reply) => {
        const task = sim.task(req.params.taskId);
        return task ?? reply.code(404).send({ error: 'unknown task' });
      });
      scope.delete<{ Params: { taskId: string } }>('/tasks/:taskId', async (req, reply) =>
        sim.forget(req.params.taskId)
          ? { ok: true }
          : reply.code(404).send({ error: 'unknown task' }),
      );
      scope.get('/voices', async () => ({ voices: sim.voices() }));
      scope.delete<{ Params: { voiceId: string } }>('/voices/:voiceId', async (req, reply) =>
        sim.forgetVoice(req.params.voiceId)
          ? { ok: true }
          : reply.code(404).send({ error: 'unknown voice' }),
      );
      scope.post('/callbacks/flush', async () => ({ sent: await sim.flushCallbacks() }));
      scope.post('/reset', async () => {
        sim.reset();
        return { ok: true };
      });
    },
    { prefix: '/_sim' },
  );
}
