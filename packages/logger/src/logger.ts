import { type DestinationStream, type Logger as PinoLogger, pino } from 'pino';
import { REDACTED, redactPaths, redactSecrets } from './redact.js';

export type Logger = PinoLogger;

export interface LoggerOptions {
  name: string;
  level?: string;
  /** Where lines go; stdout when omitted. Tests pass a stream to capture them. */
  destination?: DestinationStream;
  /** Exact secret values known at start (upstream key, admin token) to mask in any string. */
  secrets?: Array<string | undefined>;
}

/**
 * One pino logger per process. Child loggers (`logger.child({ jobId, batchId, tenantId })`)
 * carry ids; secrets are removed by path and, in messages, by shape and by known value.
 */
export function createLogger(options: LoggerOptions): Logger {
  const known = (options.secrets ?? []).filter((s): s is string => !!s && s.length >= 6);
  const scrub = (text: string): string => {
    let out = redactSecrets(text);
    for (const secret of known) out = out.split(secret).join(REDACTED);
    return out;
  };
  return pino(
    {
      name: options.name,
      level: options.level ?? 'info',
      redact: { paths: redactPaths, censor: REDACTED },
      hooks: {
        // Every line is scrubbed once it is serialised, so secrets inside free text (a message,
        // an error quoting a header, a URL) are masked whatever object carried them.
        streamWrite: scrub,
      },
    },
    options.destination,
  );
}
