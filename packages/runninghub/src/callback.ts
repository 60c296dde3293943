import { parseJsonKeepingBigIntegers } from './json.js';
import { type TaskResponse, taskResponseBodySchema, toTaskResponse } from './task.js';

/** The event RunningHub names a callback for a task that ended (SUCCESS, FAILED, CANCEL). */
export const TASK_END_EVENT = 'TASK_END';

/** What a callback says: which task, and the query answer it carried (null when none). */
export interface TaskCallback {
  /** `TASK_END` so far; '' when upstream left it out. Trimmed, as sent otherwise. */
  event: string;
  taskId: string;
  /**
   * `eventData` read as a query answer, or null when it was absent, null, empty or unreadable:
   * the body is unsigned (contract, "Callbacks"), so a result is confirmed with a query anyway
   * and a damaged `eventData` must not cost the prompt query the callback is for.
   */
  task: TaskResponse | null;
}

/** A callback body that names no task we could query: answer it 4xx and do nothing. */
export class TaskCallbackError extends Error {
  readonly reason: string;
  /** The body as received (its start when it was text), for the log. */
  readonly raw: unknown;

  constructor(reason: string, raw: unknown) {
    super(`RunningHub callback unreadable: ${reason}`);
    this.name = 'TaskCallbackError';
    this.reason = reason;
    this.raw = raw;
  }
}

export function isTaskCallbackError(error: unknown): error is TaskCallbackError {
  return error instanceof TaskCallbackError;
}

// Enough of an unreadable body to recognise it in a log.
const RAW_TEXT_LIMIT = 500;
const TASK_ID_PATTERN = /^\d+$/;

function fromText(text: string): unknown {
  try {
    return parseJsonKeepingBigIntegers(text);
  } catch {
    throw new TaskCallbackError('body is not JSON', text.slice(0, RAW_TEXT_LIMIT));
  }
}

/**
 * A task id as text, or why it is not one. A JSON number above 2^53 has already been rounded
 * by whoever parsed it into a number and would name another task, so it is refused.
 */
function readTaskId(value: unknown): { id: string | null; problem: string | null } {
  if (value === null || value === undefined) return { id: null, problem: null };
  if (typeof value === 'number') {
    return Number.isSafeInteger(value) && value >= 0
      ? { id: String(value), problem: null }
      : { id: null, problem: 'taskId is a number that lost its digits; pass the raw body' };
  }
  if (typeof value !== 'string') return { id: null, problem: 'taskId is not a string' };
  const id = value.trim();
  if (id === '') return { id: null, problem: null };
  return TASK_ID_PATTERN.test(id)
    ? { id, problem: null }
    : { id: null, problem: 'taskId is not decimal' };
}

function eventDataOf(eventData: unknown): Record<string, unknown> | null {
  let data = eventData;
  if (typeof data === 'string') {
    if (data.trim() === '') return null;
    try {
      data = parseJsonKeepingBigIntegers(data);
    } catch {
      return null;
    }
  }
  if (!data || typeof data !== 'object' || Array.isArray(data)) return null;
  return data as Record<string, unknown>;
}

function taskOf(data: Record<string, unknown> | null): TaskResponse | null {
  if (!data) return null;
  const parsed = taskResponseBodySchema.safeParse(data);
  return parsed.success ? toTaskResponse(parsed.data, data) : null;
}

/**
 * Reads a RunningHub callback body: `{"event":"TASK_END","taskId":"…","eventData":…}`, with
 * `eventData` the query answer as a JSON string (v1, documented) or an object (seen on v2).
 * Pass the raw text (a string or bytes) when there is one: task ids above 2^53 then stay exact.
 * The task id is the body's, else eventData's; a body that is not a JSON object, names no
 * task, or names two, throws TaskCallbackError. Never trust the result alone: confirm with a
 * query.
 */
export function parseTaskCallback(body: unknown): TaskCallback {
  let raw = body;
  if (raw instanceof Uint8Array) raw = new TextDecoder().decode(raw);
  if (typeof raw === 'string') raw = fromText(raw);
  if (!raw || typeof raw !== 'object' || Array.isArray(raw)) {
    throw new TaskCallbackError('body is not a JSON object', raw);
  }
  const fields = raw as Record<string, unknown>;
  const event = typeof fields.event === 'string' ? fields.event.trim() : '';
  const data = eventDataOf(fields.eventData);
  const outer = readTaskId(fields.taskId);
  if (outer.problem) throw new TaskCallbackError(outer.problem, raw);
  // eventData only informs: an id there that cannot be read is ignored, not an error.
  const inner = readTaskId(data?.taskId).id;
  if (outer.id !== null && inner !== null && outer.id !== inner) {
    throw new TaskCallbackError('taskId and eventData name different tasks', raw);
  }
  const taskId = outer.id ?? inner;
  if (taskId === null) throw new TaskCallbackError('no taskId', raw);
  const task = taskOf(data);
  return { event, taskId, task: task ? { ...task, taskId } : null };
}
