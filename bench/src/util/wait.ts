import { setTimeout as sleepMs } from 'node:timers/promises';

/** Paces a measurement (a sampling interval, a warm-up); outcomes are waited for with waitFor. */
export const sleep = (ms: number): Promise<void> => sleepMs(ms).then(() => undefined);
