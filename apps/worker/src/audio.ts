import {
  type ArchiveOptions,
  type AudioStore,
  createArchiveDispatcher,
  openAudioStore,
  type TargetGuard,
} from '@voxline/audio-store';
import type { Config } from '@voxline/config';
import {
  assertPublicTarget,
  createGuardedLookup,
  createHostResolver,
  parseAllowlist,
} from '@voxline/webhooks';

export interface WorkerAudio {
  store: AudioStore;
  options: ArchiveOptions;
  /** Ends the downloads still running: a shutdown that ran out of time. */
  abort(): void;
  close(): Promise<void>;
}

/** The host of the configured upstream, whose result links are trusted like the upstream is. */
function upstreamHost(baseUrl: string): string {
  return new URL(baseUrl.includes('://') ? baseUrl : `https://${baseUrl}`).hostname;
}

/**
 * The audio store (AUDIO_STORE) and the way results are downloaded into it, once per process:
 * one connection pool for every download, through the webhooks' SSRF guard. Result links come
 * from the upstream's answers, so the upstream's own host is exempt from the guard (a simulator
 * or a gateway on a private address serves its files there); any other private target is
 * refused.
 */
export function openWorkerAudio(config: Config, upstreamBaseUrl: string): WorkerAudio {
  const store = openAudioStore(config);
  const allowlist = parseAllowlist([upstreamHost(upstreamBaseUrl)]);
  // Cancellable, bounded lookups (DNS_LOOKUP_TIMEOUT_MS): a slow name server fails a download
  // instead of holding one of libuv's few threads.
  const resolve = createHostResolver({ timeoutMs: config.DNS_LOOKUP_TIMEOUT_MS });
  const guard: TargetGuard = {
    check: (url) => assertPublicTarget(url, allowlist, resolve),
    lookup: createGuardedLookup(allowlist, resolve),
  };
  const dispatcher = createArchiveDispatcher({
    guard,
    connectTimeoutMs: config.AUDIO_CONNECT_TIMEOUT_MS,
  });
  const shutdown = new AbortController();
  return {
    store,
    options: {
      guard,
      dispatcher,
      maxBytes: config.AUDIO_MAX_BYTES,
      timeoutMs: config.AUDIO_DOWNLOAD_TIMEOUT_MS,
      connectTimeoutMs: config.AUDIO_CONNECT_TIMEOUT_MS,
      signal: shutdown.signal,
    },
    abort() {
      shutdown.abort(new Error('worker shutting down'));
    },
    async close() {
      await dispatcher.close();
      await store.close();
    },
  };
}
