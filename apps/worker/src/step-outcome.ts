/**
 * How a step ends. Steps return one of these and never touch BullMQ's control flow themselves:
 * `settle` (step.ts) is the one place an outcome becomes a BullMQ call.
 */
export type StepOutcome =
  /** Nothing more for this job (finished, or handed to another job). */
  | { kind: 'done' }
  /**
   * Run this job again after `ms`, with `data` as its new payload when given. `afterParked`
   * runs once the job is delayed: whatever must find the job parked (a slot waiter that a
   * release will promote) registers there, never before the move.
   */
  | { kind: 'delay'; ms: number; data?: object; afterParked?: () => Promise<void> }
  /** Ends the job failed, without BullMQ retries: the failure is already recorded. */
  | { kind: 'fail'; code: string; message: string };

export const done: StepOutcome = { kind: 'done' };

export function delay(ms: number, data?: object): StepOutcome {
  return data === undefined ? { kind: 'delay', ms } : { kind: 'delay', ms, data };
}

/** Delay the job, then run `afterParked` (see StepOutcome). */
export function park(ms: number, afterParked: () => Promise<void>): StepOutcome {
  return { kind: 'delay', ms, afterParked };
}

export function fail(code: string, message: string): StepOutcome {
  return { kind: 'fail', code, message };
}
