import {
  type Durations,
  type SimTaskView,
  type SimulatorHandle,
  startSimulator,
} from '@voxline/runninghub-sim';

export type { SimTaskView, SimulatorHandle };

export const SIM_KEY = 'bench-sim-key';

export interface BenchSimulator {
  handle: SimulatorHandle;
  url: string;
  /** Moves the simulator's clock forward: tasks scheduled to end before then have ended. */
  advance(ms: number): void;
  close(): Promise<void>;
}

/**
 * A RunningHub simulator in this process, on a free port, with a clock the bench can move
 * (so "tasks that run for an hour" can be made to end on cue).
 */
export async function startBenchSimulator(options: {
  maxInFlight: number;
  durations: Durations;
  seed?: number;
  /** The base of the result links it hands out, when another server serves the files. */
  publicUrl?: string;
}): Promise<BenchSimulator> {
  let offset = 0;
  const handle = await startSimulator({
    port: 0,
    maxInFlight: options.maxInFlight,
    durations: options.durations,
    seed: options.seed ?? 1,
    now: () => Date.now() + offset,
    ...(options.publicUrl ? { publicUrl: options.publicUrl } : {}),
  });
  return {
    handle,
    url: handle.url,
    advance(ms) {
      offset += ms;
    },
    close: () => handle.close(),
  };
}
