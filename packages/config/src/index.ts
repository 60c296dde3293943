export { parseList } from './list.js';
export { type Config, ConfigError, envSchema, loadConfig } from './load.js';
