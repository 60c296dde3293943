import { createHash } from 'node:crypto';
import { join } from 'node:path';
import type { Logger } from '@voxline/logger';
import { encodeWav } from '../wav.js';
import { AudioCache } from './cache.js';
import { ESPEAK_COMMAND, EspeakSynthesizer } from './espeak.js';
import { applyLevel } from './level.js';
import { encodeMp3, LAME_COMMAND } from './mp3.js';
import { RenderPool } from './pool.js';
import { probeCommand } from './process.js';
import type { AudioFormat, SpeechRequest } from './request.js';
import type { Synthesizer } from './synthesizer.js';
import { ToneSynthesizer } from './tone.js';

export type SynthChoice = 'auto' | 'espeak-ng' | 'tone';

export interface AudioOptions {
  /** `auto`: eSpeak NG when installed, else the tone; `espeak-ng`: refuse to start without it. */
  synth: SynthChoice;
  format: AudioFormat;
  /** The simulator's files folder; the render cache lives in its `audio/`. */
  filesDir: string;
  cacheBytes: number;
  /** Render processes at a time. */
  concurrency: number;
  /** Prefetches queued beyond the running ones; more are left to the download. */
  maxBacklog: number;
}

export const CONTENT_TYPES: Record<AudioFormat, string> = { wav: 'audio/wav', mp3: 'audio/mpeg' };

export class SynthUnavailableError extends Error {}

export interface RenderStats {
  rendered: number;
  cacheHits: number;
  prefetched: number;
  prefetchDropped: number;
  peakRunning: number;
}

/**
 * Result audio: rendered by the one synthesizer in a bounded pool of processes (never in a
 * request handler's own turn), started early at submit, and kept on disk by request so a line
 * spoken again, in this run or the next, costs a file read.
 */
export class AudioRenderer {
  readonly synth: Synthesizer;
  readonly format: AudioFormat;
  readonly #version: string;
  readonly #cache: AudioCache | null;
  readonly #pool: RenderPool;
  readonly #inFlight = new Map<string, Promise<Buffer>>();
  readonly #stats = { rendered: 0, cacheHits: 0, prefetched: 0, prefetchDropped: 0 };

  private constructor(
    synth: Synthesizer,
    version: string,
    format: AudioFormat,
    cache: AudioCache | null,
    options: AudioOptions,
  ) {
    this.synth = synth;
    this.#version = version;
    this.format = format;
    this.#cache = cache;
    this.#pool = new RenderPool(options.concurrency, options.maxBacklog);
  }

  /** Finds the synthesizer (and lame for MP3); says once what the results will sound like. */
  static async start(options: AudioOptions, logger: Logger | null): Promise<AudioRenderer> {
    const espeak = options.synth === 'tone' ? null : await probeCommand(ESPEAK_COMMAND);
    if (options.synth === 'espeak-ng' && espeak === null) {
      throw new SynthUnavailableError(
        'the simulator was told to speak with espeak-ng (SIM_SYNTH=espeak-ng) and it is not installed: apt-get install espeak-ng (Debian/Ubuntu), or SIM_SYNTH=auto to fall back to tones',
      );
    }
    if (options.format === 'mp3' && (await probeCommand(LAME_COMMAND)) === null) {
      throw new SynthUnavailableError(
        'MP3 results (SIM_AUDIO_FORMAT=mp3) are encoded by lame, which is not installed: apt-get install lame, or SIM_AUDIO_FORMAT=wav',
      );
    }
    if (espeak === null) {
      if (options.synth === 'auto') {
        logger?.warn(
          'espeak-ng not found: results are tones as long as their text; install espeak-ng to hear the text (apt-get install espeak-ng)',
        );
      }
      return new AudioRenderer(new ToneSynthesizer(), 'tone', options.format, null, options);
    }
    const cache = await AudioCache.open(join(options.filesDir, 'audio'), options.cacheBytes);
    logger?.info(
      { synthesizer: espeak, cacheDir: join(options.filesDir, 'audio'), cached: cache.entries },
      'results are spoken by espeak-ng',
    );
    return new AudioRenderer(new EspeakSynthesizer(), espeak, options.format, cache, options);
  }

  get contentType(): string {
    return CONTENT_TYPES[this.format];
  }

  stats(): RenderStats {
    return { ...this.#stats, peakRunning: this.#pool.peakRunning };
  }

  /** Starts rendering a task's audio in the background, so its download finds it ready. */
  prefetch(speech: SpeechRequest, taskId: string): void {
    if (!this.#cache) return;
    const key = this.#key(speech);
    if (this.#inFlight.has(key)) return;
    const queued = this.#pool.offer(() => this.#renderOnce(key, speech, taskId));
    if (queued) this.#stats.prefetched++;
    else this.#stats.prefetchDropped++;
  }

  /** The task's audio file, from the cache or rendered now (ahead of any prefetch). */
  render(speech: SpeechRequest, taskId: string): Promise<Buffer> {
    if (!this.#cache) return this.#pool.run(() => this.#produce(speech, taskId));
    const key = this.#key(speech);
    return this.#inFlight.get(key) ?? this.#pool.run(() => this.#renderOnce(key, speech, taskId));
  }

  /** Drops queued prefetches (a reset); what runs finishes. */
  clearBacklog(): void {
    this.#pool.clearBacklog();
  }

  /** Drops queued prefetches and waits for the renders under way (their files land whole). */
  async close(): Promise<void> {
    this.#pool.clearBacklog();
    await Promise.allSettled([...this.#inFlight.values()]);
  }

  // One render per key at a time: a download arriving during its prefetch waits for it.
  #renderOnce(key: string, speech: SpeechRequest, taskId: string): Promise<Buffer> {
    const running = this.#inFlight.get(key);
    if (running) return running;
    const work = this.#fromCacheOrRender(key, speech, taskId).finally(() =>
      this.#inFlight.delete(key),
    );
    this.#inFlight.set(key, work);
    return work;
  }

  async #fromCacheOrRender(key: string, speech: SpeechRequest, taskId: string): Promise<Buffer> {
    const name = `${key}.${speech.format}`;
    const cached = await this.#cache?.get(name);
    if (cached) {
      this.#stats.cacheHits++;
      return cached;
    }
    const bytes = await this.#produce(speech, taskId);
    await this.#cache?.put(name, bytes);
    return bytes;
  }

  async #produce(speech: SpeechRequest, taskId: string): Promise<Buffer> {
    const pcm = applyLevel(await this.synth.render(speech, taskId), speech);
    this.#stats.rendered++;
    return speech.format === 'mp3' ? encodeMp3(pcm) : encodeWav(pcm);
  }

  #key(speech: SpeechRequest): string {
    const { text, voice, language, speed, pitch, volume, normalize, format } = speech;
    const what = [this.#version, text, voice, language, speed, pitch, volume, normalize, format];
    return createHash('sha256').update(JSON.stringify(what)).digest('hex');
  }
}
