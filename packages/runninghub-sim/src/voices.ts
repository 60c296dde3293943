import type { Timbre } from './synth/request.js';
import { finishedAt, type SimTask, statusAt } from './tasks.js';

/** A cloned voice as the control surface shows it. */
export interface SimVoiceView {
  voiceId: string;
  /** The key's label (see keyLabel), never the key. */
  key: string;
  /** When its clone succeeded (the latest birth, if it was forgotten and cloned again). */
  createdAt: number;
  /** Its clone's end or its last speech submit, whichever is later. */
  lastUsedAt: number;
  /** When it is (or was) forgotten unless used before. */
  expiresAt: number;
  alive: boolean;
}

interface VoiceEntry {
  voiceId: string;
  keyLabel: string;
  /** Clones not finished when last looked at: each may still bring the voice to life. */
  pending: Array<{ task: SimTask; timbre: Timbre }>;
  bornAt: number | null;
  lastUsedAt: number;
  timbre: Timbre | null;
}

const entryKey = (keyLabel: string, voiceId: string) => `${keyLabel}\u0000${voiceId}`;

/**
 * The voices each key has cloned. A voice exists from the moment its voice-clone task
 * succeeds, read off the clock like every task status (nothing runs per voice), and is
 * forgotten once unused for the TTL, as MiniMax deletes voices unused for 7 days. The TTL is
 * passed on every call so a scenario change applies at once.
 */
export class VoiceRegistry {
  readonly #entries = new Map<string, VoiceEntry>();
  readonly #maxVoices: number;

  constructor(maxVoices: number) {
    this.#maxVoices = maxVoices;
  }

  /** A clone accepted for a key: when it succeeds, its custom_voice_id speaks in `timbre`. */
  addClone(task: SimTask, timbre: Timbre): void {
    const key = entryKey(task.keyLabel, task.customVoiceId);
    const entry = this.#entries.get(key) ?? {
      voiceId: task.customVoiceId,
      keyLabel: task.keyLabel,
      pending: [],
      bornAt: null,
      lastUsedAt: 0,
      timbre: null,
    };
    entry.pending.push({ task, timbre });
    // Re-inserted: the map's order is by last clone, and the cap drops the stalest first.
    this.#entries.delete(key);
    this.#entries.set(key, entry);
    while (this.#entries.size > this.#maxVoices) {
      const oldest = this.#entries.keys().next().value;
      if (oldest === undefined) break;
      this.#entries.delete(oldest);
    }
  }

  /** The voice's timbre if the key has it alive at `now`; null if unknown or forgotten. */
  lookup(keyLabel: string, voiceId: string, now: number, ttlMs: number): Timbre | null {
    const entry = this.#settled(entryKey(keyLabel, voiceId), now, ttlMs);
    return entry && isAlive(entry, now, ttlMs) ? entry.timbre : null;
  }

  /** A speech task was submitted with a live voice: its TTL starts again. */
  touch(keyLabel: string, voiceId: string, now: number): void {
    const entry = this.#entries.get(entryKey(keyLabel, voiceId));
    if (entry) entry.lastUsedAt = Math.max(entry.lastUsedAt, now);
  }

  /** Every voice that came to life, alive or forgotten since. */
  list(now: number, ttlMs: number): SimVoiceView[] {
    const out: SimVoiceView[] = [];
    for (const key of [...this.#entries.keys()]) {
      const entry = this.#settled(key, now, ttlMs);
      if (!entry || entry.bornAt === null) continue;
      out.push({
        voiceId: entry.voiceId,
        key: entry.keyLabel,
        createdAt: entry.bornAt,
        lastUsedAt: entry.lastUsedAt,
        expiresAt: entry.lastUsedAt + ttlMs,
        alive: isAlive(entry, now, ttlMs),
      });
    }
    return out;
  }

  /**
   * Forgets the voice id under every key that has it, with its clones still running (as if
   * upstream deleted it): speech with it fails from now on. False if no key had it.
   */
  forget(voiceId: string): boolean {
    let found = false;
    for (const [key, entry] of this.#entries) {
      if (entry.voiceId !== voiceId) continue;
      this.#entries.delete(key);
      found = true;
    }
    return found;
  }

  clear(): void {
    this.#entries.clear();
  }

  /**
   * Brings the entry up to `now`: each clone that ended since, in the order they ended, either
   * counts as a use of a live voice or brings a forgotten (or never born) one to life. An entry
   * whose clones all failed is dropped.
   */
  #settled(key: string, now: number, ttlMs: number): VoiceEntry | undefined {
    const entry = this.#entries.get(key);
    if (!entry) return undefined;
    const ended = entry.pending
      .map((p) => ({ ...p, at: finishedAt(p.task, now) }))
      .filter((p): p is typeof p & { at: number } => p.at !== null)
      .sort((a, b) => a.at - b.at);
    if (ended.length > 0) {
      entry.pending = entry.pending.filter((p) => finishedAt(p.task, now) === null);
      for (const clone of ended) {
        if (statusAt(clone.task, now) !== 'SUCCESS') continue;
        if (!isAlive(entry, clone.at, ttlMs)) entry.bornAt = clone.at;
        entry.lastUsedAt = Math.max(entry.lastUsedAt, clone.at);
        entry.timbre = clone.timbre;
      }
    }
    if (entry.bornAt === null && entry.pending.length === 0) {
      this.#entries.delete(key);
      return undefined;
    }
    return entry;
  }
}

function isAlive(entry: VoiceEntry, at: number, ttlMs: number): boolean {
  return entry.bornAt !== null && entry.bornAt <= at && at - entry.lastUsedAt < ttlMs;
}
