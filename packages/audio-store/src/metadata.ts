import { PassThrough, type Readable, Transform, type TransformCallback } from 'node:stream';
import { type IFormat, type IMetadataEvent, parseStream } from 'music-metadata';

export type AudioFormat = 'wav' | 'mp3' | 'flac' | 'ogg' | 'm4a' | 'aiff';

export interface AudioMetadata {
  format: AudioFormat;
  contentType: string;
  durationMs: number;
  sampleRate: number;
  channels: number;
}

const CONTENT_TYPES: Record<AudioFormat, string> = {
  wav: 'audio/wav',
  mp3: 'audio/mpeg',
  flac: 'audio/flac',
  ogg: 'audio/ogg',
  m4a: 'audio/mp4',
  aiff: 'audio/aiff',
};

// music-metadata's names for the containers (IFormat.container), with MPEG narrowed to layer 3.
function formatOf(format: IFormat): AudioFormat | null {
  const container = format.container ?? '';
  if (container === 'WAVE') return 'wav';
  if (container === 'MPEG' && /layer 3/i.test(format.codec ?? '')) return 'mp3';
  if (container === 'FLAC') return 'flac';
  if (container === 'Ogg') return 'ogg';
  if (container === 'AIFF' || container === 'AIFF-C') return 'aiff';
  if (
    container.startsWith('M4A') ||
    container.startsWith('mp4') ||
    container.startsWith('MPEG-4')
  ) {
    return 'm4a';
  }
  return null;
}

/** Why a file is not audio this store can describe; the message says what was missing. */
export class UnreadableAudioError extends Error {
  override name = 'UnreadableAudioError';
}

/**
 * A WAV's duration comes from its header (the data chunk's length): music-metadata then only
 * skips the samples, copying every one of them through a buffer of its own. Once the header has
 * given the four values, nothing later in the file can change them, so the samples need not
 * reach the parser. Other containers (an MP3's duration is counted frame by frame) are read to
 * the end.
 */
function settledBy(onSettled: () => void): (event: IMetadataEvent) => void {
  let settled = false;
  return ({ metadata: { format } }) => {
    if (settled || format.container !== 'WAVE') return;
    if (!format.duration || !format.sampleRate || !format.numberOfChannels) return;
    settled = true;
    onSettled();
  };
}

/**
 * Reads format, duration, sample rate and channels with music-metadata. `duration: true` makes
 * it scan an MP3 without a Xing/Info header to the end instead of guessing from the bit rate.
 */
export async function readAudioMetadata(
  body: Readable,
  hints: { bytes?: number | undefined; contentType?: string | null },
  /** Called once the rest of the file cannot change what is returned (see settledBy). */
  onSettled?: () => void,
): Promise<AudioMetadata> {
  let parsed: Awaited<ReturnType<typeof parseStream>>;
  try {
    parsed = await parseStream(
      body,
      {
        ...(hints.bytes !== undefined ? { size: hints.bytes } : {}),
        ...(hints.contentType ? { mimeType: hints.contentType } : {}),
      },
      {
        duration: true,
        skipCovers: true,
        ...(onSettled ? { observer: settledBy(onSettled) } : {}),
      },
    );
  } catch (error) {
    throw new UnreadableAudioError(`not an audio file: ${String((error as Error).message)}`, {
      cause: error,
    });
  } finally {
    // The parser stops once it knows enough; the rest of the stream is not needed.
    body.destroy();
  }
  const { format } = parsed;
  const kind = formatOf(format);
  if (!kind) {
    throw new UnreadableAudioError(`unsupported container ${format.container ?? '(none found)'}`);
  }
  const { duration, sampleRate, numberOfChannels } = format;
  if (!duration || !sampleRate || !numberOfChannels) {
    throw new UnreadableAudioError(
      `${kind} without ${!duration ? 'a duration' : !sampleRate ? 'a sample rate' : 'a channel count'}`,
    );
  }
  return {
    format: kind,
    contentType: CONTENT_TYPES[kind],
    durationMs: Math.round(duration * 1000),
    sampleRate,
    channels: numberOfChannels,
  };
}

/**
 * Passes a file's bytes through unchanged while music-metadata reads them on the side, so that a
 * file is described as it is stored instead of being read back afterwards (a second pass over
 * a local file, a second GET from S3). The parser reads at its own pace; when it falls behind,
 * the bytes wait for it (at most one chunk is held), and once it has what it needs (it is done,
 * or a WAV's header has said it all) it is fed no more. `metadata` settles when the parser
 * does, whether or not the bytes have all passed.
 */
export class MetadataTap extends Transform {
  readonly metadata: Promise<AudioMetadata>;
  // One download chunk's worth: the parser is then a chunk behind at most.
  readonly #feed = new PassThrough({ highWaterMark: 64 * 1024 });
  #parsing = true;
  #ended = false;
  // A chunk held back until the parser drains the feed (or stops reading it).
  #held: (() => void) | null = null;

  constructor(hints: { bytes?: number | undefined; contentType?: string | null }) {
    super();
    this.metadata = readAudioMetadata(
      this.#feed,
      { bytes: hints.bytes, contentType: hints.contentType ?? null },
      // The parser has all it needs: it reads what the feed holds, then finds its end.
      () => {
        this.#parsing = false;
        if (!this.#feed.writableEnded) this.#feed.end();
        this.#release();
      },
    ).finally(() => {
      this.#parsing = false;
      this.#release();
    });
    // Settled by the caller; a rejection must not count as unhandled before it looks.
    this.metadata.catch(() => {});
  }

  override _transform(chunk: Buffer, _encoding: BufferEncoding, callback: TransformCallback): void {
    // A parser that just finished has destroyed its feed before `#parsing` says so.
    if (!this.#parsing || this.#feed.destroyed || this.#feed.write(chunk)) {
      callback(null, chunk);
      return;
    }
    this.#held = () => callback(null, chunk);
    this.#feed.once('drain', () => this.#release());
  }

  override _flush(callback: TransformCallback): void {
    this.#ended = true;
    if (!this.#feed.writableEnded) this.#feed.end();
    callback();
  }

  override _destroy(error: Error | null, callback: (error: Error | null) => void): void {
    // Once every byte has passed, the parser may still be reading the last ones: left alone.
    // Before that, the bytes stopped (a failed download): the parse ends too, and rejects.
    if (!this.#ended) this.#feed.destroy(error ?? new Error('the file ended early'));
    callback(error);
  }

  #release(): void {
    const held = this.#held;
    this.#held = null;
    held?.();
  }
}
