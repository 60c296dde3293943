import type { Config } from '@voxline/config';

/**
 * The environment of a service `voxline start` runs: the configuration this process parsed
 * (every variable of `@voxline/config`, defaults included) written back as strings, plus the
 * overrides of the caller (`voxline demo`'s settings). The services parse it again with the
 * same schema, so they run with exactly the settings the CLI checked and printed. Variables
 * outside the schema are not passed on: nothing in voxline reads them.
 */
export function serviceEnv(
  config: Config,
  overrides: Record<string, string> = {},
): Record<string, string> {
  const env: Record<string, string> = {};
  for (const [key, value] of Object.entries(config)) {
    // The CLI's own settings (a tenant's API key among them) are no business of the services.
    if (key.startsWith('VOXLINE_') || value === undefined || value === null) continue;
    env[key] = typeof value === 'string' ? value : String(value);
  }
  return { ...env, ...overrides };
}
