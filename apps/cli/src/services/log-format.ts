/**
 * The services log pino JSON; at a terminal that is hard to read, so `voxline start` prints
 * each line as `12:01:02 WARN  worker  message key=value …`. Lines that are not pino JSON are
 * printed as they are, behind the service's name.
 */

const LEVELS: Record<number, string> = {
  10: 'TRACE',
  20: 'DEBUG',
  30: 'INFO',
  40: 'WARN',
  50: 'ERROR',
  60: 'FATAL',
};
const OMIT = new Set(['level', 'time', 'pid', 'hostname', 'name', 'msg', 'v']);
const MAX_EXTRA_CHARS = 300;

function compact(value: unknown): string {
  if (typeof value === 'string') return /\s/.test(value) ? JSON.stringify(value) : value;
  if (value !== null && typeof value === 'object' && 'message' in value) {
    // An error: its message says enough on a terminal; the JSON log keeps the stack.
    return JSON.stringify((value as { message: unknown }).message);
  }
  return JSON.stringify(value);
}

function clock(time: unknown): string {
  const date = typeof time === 'number' ? new Date(time) : new Date();
  return date.toTimeString().slice(0, 8);
}

export function formatLogLine(service: string, raw: string, width = 6): string {
  const label = service.padEnd(width);
  let entry: Record<string, unknown> | null = null;
  if (raw.startsWith('{')) {
    try {
      const parsed: unknown = JSON.parse(raw);
      if (parsed !== null && typeof parsed === 'object' && !Array.isArray(parsed)) {
        entry = parsed as Record<string, unknown>;
      }
    } catch {
      entry = null;
    }
  }
  if (!entry || typeof entry.level !== 'number')
    return `${clock(undefined)} ${'     '} ${label} ${raw}`;
  const level = (LEVELS[entry.level] ?? String(entry.level)).padEnd(5);
  let extra = Object.entries(entry)
    .filter(([key]) => !OMIT.has(key))
    .map(([key, value]) => `${key}=${compact(value)}`)
    .join(' ');
  if (extra.length > MAX_EXTRA_CHARS) extra = `${extra.slice(0, MAX_EXTRA_CHARS - 1)}…`;
  const msg = typeof entry.msg === 'string' ? entry.msg : '';
  return `${clock(entry.time)} ${level} ${label} ${msg}${extra ? `  ${extra}` : ''}`;
}
