export { createLogger, type Logger, type LoggerOptions } from './logger.js';
export { REDACTED, redactPaths, redactSecrets } from './redact.js';
