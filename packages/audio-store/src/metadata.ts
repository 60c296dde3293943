import type { Readable } from 'node:stream';
import { type IFormat, parseStream } from 'music-metadata';

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
 * Reads format, duration, sample rate and channels with music-metadata. `duration: true` makes
 * it scan an MP3 without a Xing/Info header to the end instead of guessing from the bit rate.
 */
export async function readAudioMetadata(
  body: Readable,
  hints: { bytes: number; contentType?: string | null },
): Promise<AudioMetadata> {
  let parsed: Awaited<ReturnType<typeof parseStream>>;
  try {
    parsed = await parseStream(
      body,
      { size: hints.bytes, ...(hints.contentType ? { mimeType: hints.contentType } : {}) },
      { duration: true, skipCovers: true },
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
