import type { Config } from '@voxline/config';

/** The key the simulator accepts when SIM_API_KEYS is unset; it has no meaning elsewhere. */
export const SIMULATOR_API_KEY = 'voxline-sim';

/**
 * The real RunningHub when RUNNINGHUB_BASE_URL is set, else the local simulator: the default
 * upstream of a machine without a RunningHub account.
 */
export function resolveUpstream(config: Config): {
  baseUrl: string;
  apiKey: string;
  simulated: boolean;
} {
  if (config.RUNNINGHUB_BASE_URL && config.RUNNINGHUB_API_KEY) {
    return {
      baseUrl: config.RUNNINGHUB_BASE_URL,
      apiKey: config.RUNNINGHUB_API_KEY,
      simulated: false,
    };
  }
  return {
    baseUrl: `http://${config.SIM_HOST}:${config.SIM_PORT}`,
    // The config refuses RUNNINGHUB_API_KEY without RUNNINGHUB_BASE_URL: no real key lands here.
    apiKey: SIMULATOR_API_KEY,
    simulated: true,
  };
}
