/**
 * How a step ends. Steps return one of these and never touch BullMQ's control flow themselves:
 * `settle` (step.ts) is the one place an outcome becomes a BullMQ call.
 */
export type StepOutcome =
  /** Nothing more for this job (finished, or handed to another job). */
  | { kind: 'done' }
  /** Run this job again after `ms`, with `data` as its new payload when given. */
  | { kind: 'delay'; ms: number; data?: object }
  /** Ends the job failed, without BullMQ retries: the failure is already recorded. */
  | { kind: 'fail'; code: string; message: string };

export const done: StepOutcome = { kind: 'done' };

export function delay(ms: number, data?: object): StepOutcome {
  return data === undefined ? { kind: 'delay', ms } : { kind: 'delay', ms, data };
}

export function fail(code: string, message: string): StepOutcome {
  return { kind: 'fail', code, message };
}
