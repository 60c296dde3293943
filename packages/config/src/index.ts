export {
  mayScrapeMetrics,
  type OperatorRole,
  type OperatorTokens,
  operatorRole,
  presentedSecret,
} from './credentials.js';
export { isLoopbackHost } from './hosts.js';
export { parseList } from './list.js';
export { type Config, ConfigError, envSchema, loadConfig } from './load.js';
export { WORKER_NODE_ARGS } from './node-args.js';
