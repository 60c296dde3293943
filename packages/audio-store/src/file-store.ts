import { randomUUID } from 'node:crypto';
import {
  type FileHandle,
  mkdir,
  open,
  opendir,
  readFile,
  rename,
  rm,
  stat,
} from 'node:fs/promises';
import { dirname, join, relative, sep } from 'node:path';
import type { Readable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { pathToFileURL } from 'node:url';
import { DigestStream } from './digest.js';
import { RangeNotSatisfiableError } from './errors.js';
import { assertValidKey } from './keys.js';
import type {
  AudioStore,
  ByteRange,
  ObjectStream,
  PutOptions,
  PutResult,
  StoredEntry,
  StoredObject,
} from './store.js';

// Keys never start a segment with a dot (keys.ts), so these cannot collide with audio.
const TEMP_DIR = '.tmp';
const META_DIR = '.meta';

/** What the folder store keeps beside each file: what S3 keeps as the object's metadata. */
interface Sidecar {
  sha256: string;
  contentType: string | null;
}

function isMissing(error: unknown): boolean {
  return (error as NodeJS.ErrnoException).code === 'ENOENT';
}

/**
 * An AudioStore in a local folder. A file is written under `.tmp/`, flushed to disk, then
 * renamed to its key: rename is atomic within one file system, so a crash leaves at worst a
 * stray temp file, never a half file under the final name.
 */
export function createFileStore(root: string): AudioStore {
  const audioPath = (key: string) => join(root, key);
  const metaPath = (key: string) => join(root, META_DIR, `${key}.json`);

  async function readSidecar(key: string): Promise<Sidecar | null> {
    try {
      return JSON.parse(await readFile(metaPath(key), 'utf8')) as Sidecar;
    } catch (error) {
      if (isMissing(error)) return null;
      throw error;
    }
  }

  // Folders are made when a write finds them missing, not before every write: on a busy store
  // that is two mkdir calls a file saved, and a folder someone removed is made again all the same.
  async function openTemp(): Promise<{ path: string; file: FileHandle }> {
    const path = join(root, TEMP_DIR, randomUUID());
    try {
      return { path, file: await open(path, 'wx') };
    } catch (error) {
      if (!isMissing(error)) throw error;
      await mkdir(join(root, TEMP_DIR), { recursive: true });
      return { path, file: await open(path, 'wx') };
    }
  }

  async function moveInto(temp: string, path: string): Promise<void> {
    try {
      await rename(temp, path);
    } catch (error) {
      if (!isMissing(error)) throw error;
      await mkdir(dirname(path), { recursive: true });
      await rename(temp, path);
    }
  }

  /** `write` fills the temp file and closes it; the file then takes its final name. */
  async function writeAtomically(path: string, write: (file: FileHandle) => Promise<void>) {
    const temp = await openTemp();
    try {
      await write(temp.file);
      await moveInto(temp.path, path);
    } catch (error) {
      await temp.file.close().catch(() => {});
      await rm(temp.path, { force: true });
      throw error;
    }
  }

  function etagOf(sidecar: Sidecar | null, size: number, mtimeMs: number): string {
    // A file put there by hand has no recorded hash: size and time still change with it.
    return sidecar?.sha256 ?? `${size.toString(16)}-${Math.floor(mtimeMs).toString(16)}`;
  }

  async function* walk(dir: string): AsyncGenerator<string> {
    let entries: Awaited<ReturnType<typeof opendir>>;
    try {
      entries = await opendir(dir);
    } catch (error) {
      if (isMissing(error)) return;
      throw error;
    }
    for await (const entry of entries) {
      if (entry.name.startsWith('.')) continue;
      const path = join(dir, entry.name);
      if (entry.isDirectory()) yield* walk(path);
      else if (entry.isFile()) yield path;
    }
  }

  async function* listOlderThan(cutoff: Date): AsyncGenerator<StoredEntry> {
    for await (const path of walk(root)) {
      let info: Awaited<ReturnType<typeof stat>>;
      try {
        info = await stat(path);
      } catch (error) {
        if (isMissing(error)) continue;
        throw error;
      }
      if (info.mtimeMs >= cutoff.getTime()) continue;
      const key = relative(root, path).split(sep).join('/');
      yield { key, bytes: info.size, lastModified: info.mtime };
    }
  }

  const store: AudioStore = {
    kind: 'file',
    location: pathToFileURL(root).href,

    async put(key: string, body: Readable, options: PutOptions = {}): Promise<PutResult> {
      assertValidKey(key);
      const digest = new DigestStream();
      let sha256 = '';
      await writeAtomically(audioPath(key), async (file) => {
        // `flush`: on disk before the rename makes it visible, or a power cut after the rename
        // could leave the final name pointing at a file of zeros.
        await pipeline(body, digest, file.createWriteStream({ flush: true }), {
          ...(options.signal ? { signal: options.signal } : {}),
        });
        sha256 = digest.sha256();
        // The sidecar lands first: a crash between the two renames leaves a sidecar without
        // audio, which `head` ignores, rather than audio without its hash.
        const sidecar: Sidecar = { sha256, contentType: options.contentType ?? null };
        await writeAtomically(metaPath(key), async (meta) => {
          await meta.writeFile(JSON.stringify(sidecar));
          await meta.close();
        });
      });
      return { key, bytes: digest.bytes, sha256 };
    },

    async head(key: string): Promise<StoredObject | null> {
      assertValidKey(key);
      let info: Awaited<ReturnType<typeof stat>>;
      try {
        info = await stat(audioPath(key));
      } catch (error) {
        if (isMissing(error)) return null;
        throw error;
      }
      const sidecar = await readSidecar(key);
      return {
        key,
        bytes: info.size,
        lastModified: info.mtime,
        etag: etagOf(sidecar, info.size, info.mtimeMs),
        sha256: sidecar?.sha256 ?? null,
        contentType: sidecar?.contentType ?? null,
      };
    },

    async get(key: string, range?: ByteRange): Promise<ObjectStream | null> {
      assertValidKey(key);
      let handle: Awaited<ReturnType<typeof open>>;
      try {
        // Opened before stat: a file deleted in between is still read whole, not half.
        handle = await open(audioPath(key), 'r');
      } catch (error) {
        if (isMissing(error)) return null;
        throw error;
      }
      try {
        const info = await handle.stat();
        const sidecar = await readSidecar(key);
        const base = {
          totalBytes: info.size,
          contentType: sidecar?.contentType ?? null,
          etag: etagOf(sidecar, info.size, info.mtimeMs),
        };
        if (!range)
          return { ...base, body: handle.createReadStream(), bytes: info.size, range: null };
        if (range.start >= info.size) throw new RangeNotSatisfiableError(key, info.size);
        const end = Math.min(range.end ?? info.size - 1, info.size - 1);
        return {
          ...base,
          body: handle.createReadStream({ start: range.start, end }),
          bytes: end - range.start + 1,
          range: { start: range.start, end },
        };
      } catch (error) {
        await handle.close();
        throw error;
      }
    },

    async delete(key: string): Promise<void> {
      assertValidKey(key);
      await rm(audioPath(key), { force: true });
      await rm(metaPath(key), { force: true });
    },

    listOlderThan,

    async deleteOlderThan(cutoff: Date): Promise<string[]> {
      const deleted: string[] = [];
      for await (const entry of listOlderThan(cutoff)) {
        // Not through delete(): a file someone put here by hand may have a name no key has,
        // and retention removes it all the same. The walk stays inside the root.
        await rm(audioPath(entry.key), { force: true });
        await rm(metaPath(entry.key), { force: true });
        deleted.push(entry.key);
      }
      await removeStaleTemps(join(root, TEMP_DIR), cutoff);
      return deleted;
    },

    async presign(): Promise<string | null> {
      return null;
    },

    async close(): Promise<void> {},
  };
  return store;
}

// Temp files are left only by a process that died mid-write; as old as the cutoff, nobody
// is still writing them.
async function removeStaleTemps(dir: string, cutoff: Date): Promise<void> {
  let entries: Awaited<ReturnType<typeof opendir>>;
  try {
    entries = await opendir(dir);
  } catch (error) {
    if (isMissing(error)) return;
    throw error;
  }
  for await (const entry of entries) {
    const path = join(dir, entry.name);
    const info = await stat(path).catch(() => null);
    if (info && info.mtimeMs < cutoff.getTime()) await rm(path, { force: true });
  }
}
