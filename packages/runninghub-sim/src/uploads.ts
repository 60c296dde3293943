import { randomUUID } from 'node:crypto';

export interface StoredUpload {
  id: string;
  bytes: Buffer;
  contentType: string;
  fileName: string;
  extension: 'wav' | 'mp3';
}

/** What the file's first bytes say it is; upstream accepts MP3 and WAV only. */
export function sniffAudio(bytes: Buffer): 'wav' | 'mp3' | null {
  if (bytes.length >= 12 && bytes.toString('ascii', 0, 4) === 'RIFF') {
    return bytes.toString('ascii', 8, 12) === 'WAVE' ? 'wav' : null;
  }
  if (bytes.length >= 3 && bytes.toString('ascii', 0, 3) === 'ID3') return 'mp3';
  // An MPEG audio frame header starts with 11 set bits.
  if (bytes.length >= 2 && bytes[0] === 0xff && ((bytes[1] ?? 0) & 0xe0) === 0xe0) return 'mp3';
  return null;
}

/** Uploaded reference audio, in memory, the oldest dropped beyond a total size. */
export class UploadStore {
  readonly #files = new Map<string, StoredUpload>();
  readonly #maxBytes: number;
  #bytes = 0;

  constructor(maxBytes: number) {
    this.#maxBytes = maxBytes;
  }

  add(bytes: Buffer, extension: 'wav' | 'mp3'): StoredUpload {
    const id = randomUUID().replaceAll('-', '');
    const upload: StoredUpload = {
      id,
      bytes,
      extension,
      contentType: extension === 'wav' ? 'audio/wav' : 'audio/mpeg',
      fileName: `api/${id}.${extension}`,
    };
    this.#files.set(id, upload);
    this.#bytes += bytes.length;
    for (const [oldId, old] of this.#files) {
      if (this.#bytes <= this.#maxBytes || oldId === id) break;
      this.#files.delete(oldId);
      this.#bytes -= old.bytes.length;
    }
    return upload;
  }

  get(id: string): StoredUpload | undefined {
    return this.#files.get(id);
  }

  clear(): void {
    this.#files.clear();
    this.#bytes = 0;
  }
}
