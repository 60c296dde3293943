import { z } from 'zod';
import { CALLBACK_EVENT_DATA } from './callback-body.js';
import { FAULT_KINDS, faultApplies, SIM_ENDPOINTS, toFault } from './faults.js';

const probability = z.number().min(0).max(1);
const probabilities = z.partialRecord(z.enum(FAULT_KINDS), probability);
const code = z.union([z.string().regex(/^\d+$/), z.number().int().nonnegative()]).transform(String);

const faultSchema = z.discriminatedUnion('kind', [
  z.object({ kind: z.literal('none') }),
  z.object({
    kind: z.literal('http'),
    status: z.number().int().min(300).max(599),
    retryAfterS: z.number().min(0).optional(),
  }),
  z.object({ kind: z.literal('code'), code, message: z.string().optional() }),
  z.object({ kind: z.literal('malformedJson') }),
  z.object({ kind: z.literal('truncatedJson') }),
  z.object({ kind: z.literal('slow'), delayMs: z.number().int().min(0).optional() }),
  z.object({ kind: z.literal('taskFail'), code: code.optional(), message: z.string().optional() }),
  z.object({ kind: z.literal('taskNeverFinishes') }),
  z.object({ kind: z.literal('unknownTask') }),
  z.object({ kind: z.literal('callbackLost') }),
  z.object({ kind: z.literal('callbackLate'), delayMs: z.number().int().min(0).optional() }),
  z.object({ kind: z.literal('callbackDuplicate'), delayMs: z.number().int().min(0).optional() }),
]);

const scriptEntry = z.union([z.enum([...FAULT_KINDS, 'none']), faultSchema]);

/** What can change while the simulator runs (PUT /_sim/scenario, handle.setScenario). */
export const scenarioSchema = z
  .object({
    maxInFlight: z.number().int().min(1),
    durations: z
      .object({
        baseMs: z.number().min(0),
        perCharMs: z.number().min(0),
        sigma: z.number().min(0),
      })
      .partial(),
    linkTtlMs: z.number().int().min(1),
    duplicateVoiceId: z.enum(['allow', 'fail-task']),
    voiceTtlMs: z.number().int().min(1),
    voiceMissingAt: z.enum(['submit', 'task']),
    keyErrors: z.record(z.string().min(1), code),
    faults: probabilities,
    faultsByEndpoint: z.partialRecord(z.enum(SIM_ENDPOINTS), probabilities),
    // Replaces the queue of each endpoint given; entries are consumed one per request.
    script: z.partialRecord(z.enum(SIM_ENDPOINTS), z.array(scriptEntry)),
    slowResponseMs: z.number().int().min(0),
    retryAfterS: z.number().min(0),
    taskFailCode: code,
    shapeVariety: probability,
    callbackEventData: z.enum(CALLBACK_EVENT_DATA),
    callbackLateMs: z.number().int().min(0),
    callbackAttempts: z.number().int().min(1).max(20),
    callbackBackoffMs: z.number().int().min(0),
    callbackTimeoutMs: z.number().int().min(1),
    seed: z.number().int(),
  })
  .partial()
  .strict()
  .superRefine((scenario, ctx) => {
    for (const endpoint of SIM_ENDPOINTS) {
      for (const [i, entry] of (scenario.script?.[endpoint] ?? []).entries()) {
        const fault = toFault(entry);
        if (!faultApplies(fault, endpoint)) {
          ctx.addIssue({
            code: 'custom',
            path: ['script', endpoint, i],
            message: `fault ${fault.kind} does not apply to ${endpoint}`,
          });
        }
      }
    }
  });

export type Scenario = z.input<typeof scenarioSchema>;
export type ParsedScenario = z.output<typeof scenarioSchema>;
