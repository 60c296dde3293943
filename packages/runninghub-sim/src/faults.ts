import type { Random } from './prng.js';

/** `submit` is the voice clone, `speech` any model's speech endpoint. */
export const SIM_ENDPOINTS = ['submit', 'speech', 'query', 'upload', 'cancel'] as const;
export type SimEndpoint = (typeof SIM_ENDPOINTS)[number];

/** The endpoints that create tasks, and so draw a task's fate and can be full (421). */
export function createsTask(endpoint: SimEndpoint): boolean {
  return endpoint === 'submit' || endpoint === 'speech';
}

/** Faults drawn by probability; a script may also use these names as shorthand. */
export const FAULT_KINDS = [
  'http500',
  'http502',
  'http429',
  'code1003',
  'code1011',
  'code421',
  'malformedJson',
  'truncatedJson',
  'slowResponse',
  'taskFail',
  'taskNeverFinishes',
  'unknownTask',
  'callbackLost',
  'callbackLate',
  'callbackDuplicate',
] as const;
export type FaultKind = (typeof FAULT_KINDS)[number];

export type FaultProbabilities = Partial<Record<FaultKind, number>>;

/**
 * One injected fault. `http` and `code` reject the request before it is processed;
 * `malformedJson`, `truncatedJson` and `slow` damage the answer of a request that was
 * processed (a submit's task exists: the ambiguous submit a worker must survive).
 */
export type Fault =
  | { kind: 'none' }
  | { kind: 'http'; status: number; retryAfterS?: number }
  | { kind: 'code'; code: string; message?: string }
  | { kind: 'malformedJson' }
  | { kind: 'truncatedJson' }
  | { kind: 'slow'; delayMs?: number }
  | { kind: 'taskFail'; code?: string; message?: string }
  | { kind: 'taskNeverFinishes' }
  | { kind: 'unknownTask' }
  // What becomes of the callback of a task submitted with a webhookUrl (see callbacks.ts).
  | { kind: 'callbackLost' }
  | { kind: 'callbackLate'; delayMs?: number }
  | { kind: 'callbackDuplicate'; delayMs?: number };

export type ScriptEntry = FaultKind | 'none' | Fault;

// A task's own fate, drawn on submit; callback faults, drawn on a submit with a webhookUrl;
// every other kind damages a request.
const TASK_LEVEL = ['taskFail', 'taskNeverFinishes'] as const satisfies readonly FaultKind[];
export const CALLBACK_LEVEL = [
  'callbackLost',
  'callbackLate',
  'callbackDuplicate',
] as const satisfies readonly FaultKind[];
export type CallbackFault = Extract<Fault, { kind: (typeof CALLBACK_LEVEL)[number] }>;
const TASK_ONLY: ReadonlySet<string> = new Set([...TASK_LEVEL, ...CALLBACK_LEVEL]);

export function isCallbackFault(fault: Fault): fault is CallbackFault {
  return (CALLBACK_LEVEL as readonly string[]).includes(fault.kind);
}

export function faultFromKind(kind: FaultKind | 'none'): Fault {
  switch (kind) {
    case 'none':
      return { kind: 'none' };
    case 'http500':
      return { kind: 'http', status: 500 };
    case 'http502':
      return { kind: 'http', status: 502 };
    case 'http429':
      return { kind: 'http', status: 429 };
    case 'code1003':
      return { kind: 'code', code: '1003' };
    case 'code1011':
      return { kind: 'code', code: '1011' };
    case 'code421':
      return { kind: 'code', code: '421' };
    case 'slowResponse':
      return { kind: 'slow' };
    default:
      return { kind };
  }
}

export function toFault(entry: ScriptEntry): Fault {
  return typeof entry === 'string' ? faultFromKind(entry) : entry;
}

/** Which faults make sense where; a script that asks for another is refused up front. */
export function faultApplies(fault: Fault, endpoint: SimEndpoint): boolean {
  if (TASK_ONLY.has(fault.kind)) return createsTask(endpoint);
  if (fault.kind === 'unknownTask') return endpoint === 'query';
  return true;
}

/** The counter name of an injected fault in the statistics. */
export function faultLabel(fault: Fault): string {
  switch (fault.kind) {
    case 'http':
      return `http${fault.status}`;
    case 'code':
      return `code${fault.code}`;
    case 'slow':
      return 'slowResponse';
    default:
      return fault.kind;
  }
}

// Every kind that is neither a task's fate nor its callback's, in FAULT_KINDS order.
const REQUEST_LEVEL = FAULT_KINDS.filter((kind) => !TASK_ONLY.has(kind));

/**
 * Draws at most one request-level fault and, on a submit, the task's own fate. Kinds are
 * tried in a fixed order so that a seed replays the same run.
 */
export function drawFaults(
  random: Random,
  probabilities: FaultProbabilities,
  endpoint: SimEndpoint,
): { request: Fault | null; task: Fault | null } {
  let request: Fault | null = null;
  for (const kind of REQUEST_LEVEL) {
    const p = probabilities[kind] ?? 0;
    if (p <= 0) continue;
    const fault = faultFromKind(kind);
    if (kind === 'code421' && !createsTask(endpoint)) continue;
    if (!faultApplies(fault, endpoint)) continue;
    if (random() < p) {
      request = fault;
      break;
    }
  }
  let task: Fault | null = null;
  if (createsTask(endpoint)) {
    for (const kind of TASK_LEVEL) {
      const p = probabilities[kind] ?? 0;
      if (p > 0 && random() < p) {
        task = faultFromKind(kind);
        break;
      }
    }
  }
  return { request, task };
}

/**
 * What becomes of one task's callback: at most one fault, tried in CALLBACK_LEVEL order. Its
 * own random stream, drawn only for submits that carry a webhookUrl, so that callbacks shift
 * no other fault of a seeded run.
 */
export function drawCallbackFault(
  random: Random,
  probabilities: FaultProbabilities,
): CallbackFault | null {
  for (const kind of CALLBACK_LEVEL) {
    const p = probabilities[kind] ?? 0;
    if (p > 0 && random() < p) return { kind };
  }
  return null;
}
