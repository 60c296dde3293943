export const REDACTED = '[redacted]';

// Field names that hold credentials wherever they appear in a logged object. pino's redaction
// works on paths, so each name is listed at the depths where our objects carry it.
const SECRET_FIELDS = [
  'authorization',
  'Authorization',
  'apiKey',
  'api_key',
  'apikey',
  'token',
  'password',
  'secret',
  'webhookSecret',
  'webhook_secret',
  'signingSecret',
  'adminToken',
  'RUNNINGHUB_API_KEY',
  'ADMIN_TOKEN',
  'ADMIN_READONLY_TOKEN',
  'SIM_CONTROL_TOKEN',
  'METRICS_TOKEN',
  'DATABASE_URL',
  'REDIS_URL',
];

export const redactPaths: string[] = [
  ...SECRET_FIELDS,
  ...SECRET_FIELDS.map((f) => `*.${f}`),
  ...SECRET_FIELDS.map((f) => `*.*.${f}`),
  'req.headers.authorization',
  'req.headers["x-api-key"]',
  'req.headers["webhook-signature"]',
  'res.headers["set-cookie"]',
];

// Secrets have recognisable shapes; anything shaped like one is masked even inside free text
// (an error message that quotes a header, a URL with credentials).
const SECRET_PATTERNS: RegExp[] = [
  /\bvxl_[A-Za-z0-9_-]{8,}/g, // voxline tenant API keys
  /\bwhsec_[A-Za-z0-9+/=_-]{8,}/g, // Standard Webhooks secrets
  /(Bearer|Basic)\s+[A-Za-z0-9._~+/=-]{6,}/gi,
  /(\/\/[^:/\s]+:)[^@/\s]+@/g, // user:password@ in URLs
];

/** Masks every secret-shaped substring of a string. */
export function redactSecrets(text: string): string {
  let out = text;
  for (const pattern of SECRET_PATTERNS) {
    out = out.replace(pattern, (_match, prefix: unknown) =>
      typeof prefix === 'string' && prefix.startsWith('//')
        ? `${prefix}${REDACTED}@`
        : typeof prefix === 'string' && /^(bearer|basic)$/i.test(prefix)
          ? `${prefix} ${REDACTED}`
          : REDACTED,
    );
  }
  return out;
}
