import { randomUUID } from 'node:crypto';
import { mkdir, readdir, readFile, rename, rm, stat, utimes, writeFile } from 'node:fs/promises';
import { join } from 'node:path';

const ENTRY = /^[0-9a-f]{64}\.(wav|mp3)$/;
const STALE_PARTIAL_MS = 10 * 60_000;

/**
 * Rendered audio on disk, by key, the least recently used dropped beyond `maxBytes`. Several
 * simulators may share the folder: writes are atomic (a rename), and a file another one
 * evicted is a miss, rendered again.
 */
export class AudioCache {
  readonly #dir: string;
  readonly #maxBytes: number;
  /** Insertion order is use order: the first entry is the least recently used. */
  readonly #sizes = new Map<string, number>();
  #bytes = 0;

  private constructor(dir: string, maxBytes: number) {
    this.#dir = dir;
    this.#maxBytes = maxBytes;
  }

  /** Opens (or creates) the folder and takes over what earlier runs left there. */
  static async open(dir: string, maxBytes: number): Promise<AudioCache> {
    await mkdir(dir, { recursive: true });
    const cache = new AudioCache(dir, maxBytes);
    const found: Array<{ name: string; size: number; used: number }> = [];
    for (const name of await readdir(dir)) {
      const info = await stat(join(dir, name)).catch(() => null);
      if (!info) continue;
      if (ENTRY.test(name)) found.push({ name, size: info.size, used: info.mtimeMs });
      // What a simulator killed mid-write left; a live one finishes its write in milliseconds.
      else if (name.endsWith('.partial') && Date.now() - info.mtimeMs > STALE_PARTIAL_MS) {
        await rm(join(dir, name), { force: true });
      }
    }
    found.sort((a, b) => a.used - b.used);
    for (const entry of found) cache.#remember(entry.name, entry.size);
    await cache.#evict();
    return cache;
  }

  get bytes(): number {
    return this.#bytes;
  }

  get entries(): number {
    return this.#sizes.size;
  }

  async get(name: string): Promise<Buffer | null> {
    if (!this.#sizes.has(name)) return null;
    const path = join(this.#dir, name);
    try {
      const bytes = await readFile(path);
      this.#remember(name, bytes.length);
      // The file's time is its last use, so the next run evicts in the same order.
      const now = new Date();
      await utimes(path, now, now).catch(() => {});
      return bytes;
    } catch {
      this.#forget(name);
      return null;
    }
  }

  async put(name: string, bytes: Buffer): Promise<void> {
    const partial = join(this.#dir, `.${randomUUID()}.partial`);
    await writeFile(partial, bytes);
    await rename(partial, join(this.#dir, name));
    this.#remember(name, bytes.length);
    await this.#evict();
  }

  #remember(name: string, size: number): void {
    this.#forget(name);
    this.#sizes.set(name, size);
    this.#bytes += size;
  }

  #forget(name: string): void {
    const size = this.#sizes.get(name);
    if (size === undefined) return;
    this.#sizes.delete(name);
    this.#bytes -= size;
  }

  async #evict(): Promise<void> {
    for (const [name] of this.#sizes) {
      if (this.#bytes <= this.#maxBytes) return;
      this.#forget(name);
      await rm(join(this.#dir, name), { force: true });
    }
  }
}
