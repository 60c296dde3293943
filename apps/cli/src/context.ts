import { type Config, ConfigError, loadConfig } from '@voxline/config';
import { ApiClient } from './api/client.js';
import { CliError } from './output.js';

/** Options every command takes (`voxline --api URL --key vxl_… --json <command>`). */
export interface GlobalOptions {
  api?: string;
  key?: string;
  json?: boolean;
}

let cached: Config | undefined;

/**
 * The environment, parsed by `@voxline/config` (VOXLINE_API_URL, VOXLINE_API_KEY, ADMIN_TOKEN
 * and, for `start`/`demo`, everything the services read). Flags win over it.
 */
export function cliConfig(): Config {
  if (cached) return cached;
  try {
    cached = loadConfig();
    return cached;
  } catch (error) {
    if (error instanceof ConfigError) {
      throw new CliError(
        'invalid_config',
        'the environment is not a valid voxline configuration',
        error.problems.map((p) => `${p.variable}: ${p.message}`),
      );
    }
    throw error;
  }
}

export function apiClient(options: GlobalOptions, extra: { adminToken?: string } = {}) {
  const config = cliConfig();
  const baseUrl = options.api ?? config.VOXLINE_API_URL;
  try {
    const url = new URL(baseUrl);
    if (url.protocol !== 'http:' && url.protocol !== 'https:') throw new Error('not http');
  } catch {
    throw new CliError('invalid_option', `--api must be an http(s) URL, not ${baseUrl}`);
  }
  return new ApiClient({
    baseUrl,
    apiKey: options.key ?? config.VOXLINE_API_KEY,
    adminToken: extra.adminToken ?? config.ADMIN_TOKEN,
  });
}

/** Aborted by the first Ctrl-C (or SIGTERM); commands decide what that leaves behind. */
export function interruption(): { signal: AbortSignal; dispose(): void } {
  const controller = new AbortController();
  const onSignal = () => controller.abort();
  process.once('SIGINT', onSignal);
  process.once('SIGTERM', onSignal);
  return {
    signal: controller.signal,
    dispose() {
      process.off('SIGINT', onSignal);
      process.off('SIGTERM', onSignal);
    },
  };
}
