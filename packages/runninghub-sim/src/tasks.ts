import type { CallbackFault } from './faults.js';
import type { SpeechRequest } from './synth/request.js';

export type SimStatus = 'QUEUED' | 'RUNNING' | 'SUCCESS' | 'FAILED' | 'CANCEL';
export type SimTaskKind = 'voice_clone' | 'speech';

/** Where and how a task submitted with a webhookUrl is called back when it ends. */
export interface SimWebhook {
  url: string;
  /** Fixed at submit, so that every send of one callback has the same form. */
  eventData: 'string' | 'object';
  fault: CallbackFault | null;
}

/**
 * One accepted task. Its whole future is fixed at submit (running/finish times, fate), and
 * its status is read off the clock when asked: no timer runs per task. A record keeps what
 * its audio is rendered from (the text and settings, not the audio: that is on disk).
 */
export interface SimTask {
  taskId: string;
  keyLabel: string;
  kind: SimTaskKind;
  /** A voice clone's custom_voice_id, or the voice_id a speech task speaks with. */
  customVoiceId: string;
  model: string;
  textLength: number;
  speech: SpeechRequest;
  /** usage.consumeMoney once it succeeds, a decimal string in CNY as upstream sends it. */
  price: string;
  createdAt: number;
  runningAt: number;
  /** null: the task never finishes. */
  finishesAt: number | null;
  failCode: string | null;
  failMessage: string | null;
  cancelledAt: number | null;
  queries: number;
  webhook: SimWebhook | null;
}

export function statusAt(task: SimTask, now: number): SimStatus {
  if (task.cancelledAt !== null && task.cancelledAt <= now) return 'CANCEL';
  if (now < task.runningAt) return 'QUEUED';
  if (task.finishesAt === null || now < task.finishesAt) return 'RUNNING';
  return task.failCode ? 'FAILED' : 'SUCCESS';
}

export function finishedAt(task: SimTask, now: number): number | null {
  if (task.cancelledAt !== null && task.cancelledAt <= now) return task.cancelledAt;
  if (task.finishesAt !== null && now >= task.finishesAt) return task.finishesAt;
  return null;
}

/** Tasks by id, per-key in-flight sets and the voice ids each key has registered. */
export class TaskStore {
  readonly #tasks = new Map<string, SimTask>();
  readonly #inFlight = new Map<string, Set<SimTask>>();
  readonly #voices = new Map<string, string>();
  readonly #maxTasks: number;

  constructor(maxTasks: number) {
    this.#maxTasks = maxTasks;
  }

  get size(): number {
    return this.#tasks.size;
  }

  get(taskId: string): SimTask | undefined {
    return this.#tasks.get(taskId);
  }

  all(): IterableIterator<SimTask> {
    return this.#tasks.values();
  }

  /** Tasks of the key not finished at `now`; finished ones leave the set as a side effect. */
  inFlight(keyLabel: string, now: number): number {
    const set = this.#inFlight.get(keyLabel);
    if (!set) return 0;
    for (const task of set) if (finishedAt(task, now) !== null) set.delete(task);
    return set.size;
  }

  inFlightByKey(now: number): Record<string, number> {
    const out: Record<string, number> = {};
    for (const label of this.#inFlight.keys()) out[label] = this.inFlight(label, now);
    return out;
  }

  /** The task that holds this voice id for the key, if it is still alive or succeeded. */
  voiceHolder(keyLabel: string, voiceId: string): SimTask | 'evicted' | null {
    const taskId = this.#voices.get(`${keyLabel}\u0000${voiceId}`);
    if (taskId === undefined) return null;
    const task = this.#tasks.get(taskId);
    if (!task) return 'evicted';
    return task.failCode || task.cancelledAt !== null ? null : task;
  }

  add(task: SimTask, registersVoice: boolean, now: number): void {
    this.#tasks.set(task.taskId, task);
    let set = this.#inFlight.get(task.keyLabel);
    if (!set) {
      set = new Set();
      this.#inFlight.set(task.keyLabel, set);
    }
    set.add(task);
    if (registersVoice) {
      const voice = `${task.keyLabel}\u0000${task.customVoiceId}`;
      this.#voices.delete(voice);
      this.#voices.set(voice, task.taskId);
    }
    this.#evict(now);
  }

  /** Removes a task as eviction does; its voice id entry then reads 'evicted'. */
  delete(taskId: string): boolean {
    const task = this.#tasks.get(taskId);
    if (!task) return false;
    this.#inFlight.get(task.keyLabel)?.delete(task);
    return this.#tasks.delete(taskId);
  }

  clear(): void {
    this.#tasks.clear();
    this.#inFlight.clear();
    this.#voices.clear();
  }

  // Drops the oldest records beyond the cap; a task still in flight is kept (it holds a slot),
  // which is why a scan may pass over a few. Voice ids are capped the same way.
  #evict(now: number): void {
    if (this.#tasks.size > this.#maxTasks) {
      for (const task of this.#tasks.values()) {
        if (this.#tasks.size <= this.#maxTasks) break;
        if (finishedAt(task, now) === null) continue;
        this.#inFlight.get(task.keyLabel)?.delete(task);
        this.#tasks.delete(task.taskId);
      }
    }
    while (this.#voices.size > this.#maxTasks) {
      const oldest = this.#voices.keys().next().value;
      if (oldest === undefined) break;
      this.#voices.delete(oldest);
    }
  }
}
