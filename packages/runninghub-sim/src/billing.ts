import { finishedAt, type SimTask, type SimTaskKind, statusAt } from './tasks.js';

// Prices have at most six decimals (roundPrice): summed as whole millionths they stay exact.
const MICROS = 1_000_000;

/**
 * What upstream billed: the consumeMoney of every task that succeeded, per kind. A task is
 * billed when its success is first seen on the clock, and its record may be evicted later,
 * so only tasks not yet ended are held (at most the keys' in-flight tasks).
 */
export class Billing {
  readonly #unsettled = new Set<SimTask>();
  readonly #micros: Record<SimTaskKind, number> = { voice_clone: 0, speech: 0 };

  /** A task that will be billed if it succeeds. */
  add(task: SimTask): void {
    this.#unsettled.add(task);
  }

  /** CNY billed for tasks that ended SUCCESS by `now`, per kind. */
  billed(now: number): { voiceClone: number; speech: number } {
    for (const task of this.#unsettled) {
      if (finishedAt(task, now) === null) continue;
      this.#unsettled.delete(task);
      if (statusAt(task, now) === 'SUCCESS') {
        this.#micros[task.kind] += Math.round(Number(task.price) * MICROS);
      }
    }
    return {
      voiceClone: this.#micros.voice_clone / MICROS,
      speech: this.#micros.speech / MICROS,
    };
  }
}

/** A price as upstream writes consumeMoney: a plain decimal, never an exponent. */
export function formatPrice(value: number): string {
  return value.toFixed(6).replace(/\.?0+$/, '');
}
