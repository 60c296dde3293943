import type { LookupFunction } from 'node:net';
import { Agent } from 'undici';

/**
 * The SSRF guard a download goes through, injected rather than imported: the implementation
 * (@voxline/webhooks' target-guard) lives in a package that depends on the database, and a
 * storage package should not. Wire it as
 * `{ check: (url) => assertPublicTarget(url, allowlist), lookup: createGuardedLookup(allowlist) }`.
 */
export interface TargetGuard {
  /** Rejects when `url` must not be fetched; called for the first URL and every redirect. */
  check(url: string): Promise<unknown>;
  /**
   * The DNS lookup connections use, so that the address connected to is one that was checked
   * (a name that answers differently the second time, DNS rebinding, is refused too).
   */
  lookup?: LookupFunction;
}

export interface DispatcherOptions {
  guard: TargetGuard;
  connectTimeoutMs: number;
}

/**
 * An undici Agent for downloads: guarded lookup and connect timeout. Share one across
 * downloads to keep connections alive; `archiveFromUrl` makes (and closes) one per call
 * when given none.
 */
export function createArchiveDispatcher(options: DispatcherOptions): Agent {
  return new Agent({
    connect: {
      timeout: options.connectTimeoutMs,
      ...(options.guard.lookup ? { lookup: options.guard.lookup } : {}),
    },
  });
}
