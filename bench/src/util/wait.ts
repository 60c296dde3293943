import { setTimeout as sleepMs } from 'node:timers/promises';

export const sleep = (ms: number): Promise<void> => sleepMs(ms).then(() => undefined);

/**
 * Polls `check` until it returns something other than undefined/false, or fails after the
 * deadline naming what it waited for. Benchmarks wait on conditions, never on a fixed clock.
 */
export async function waitFor<T>(
  label: string,
  check: () => Promise<T | undefined | false> | T | undefined | false,
  options: { timeoutMs?: number; intervalMs?: number } = {},
): Promise<T> {
  const timeoutMs = options.timeoutMs ?? 60_000;
  const intervalMs = options.intervalMs ?? 100;
  const deadline = Date.now() + timeoutMs;
  let lastError: unknown;
  for (;;) {
    try {
      const value = await check();
      if (value !== undefined && value !== false) return value as T;
    } catch (error) {
      lastError = error;
    }
    if (Date.now() > deadline) {
      const cause = lastError instanceof Error ? ` (last error: ${lastError.message})` : '';
      throw new Error(`timed out after ${timeoutMs} ms waiting for ${label}${cause}`);
    }
    await sleep(intervalMs);
  }
}
