import { ApiError } from './api/client.js';

/**
 * Exit codes: 0 done (every line succeeded when waiting), 1 an error, 2 waited to the end but
 * some lines failed or were canceled, 130 interrupted (Ctrl-C) with the work left running.
 */
export const EXIT = { ok: 0, error: 1, unfinishedLines: 2, interrupted: 130 } as const;

/** An error the CLI itself reports, shaped like the API's: a code, a message, details. */
export class CliError extends Error {
  constructor(
    readonly code: string,
    message: string,
    readonly details: string[] = [],
  ) {
    super(message);
    this.name = 'CliError';
  }
}

export function printJson(value: unknown): void {
  process.stdout.write(`${JSON.stringify(value, null, 2)}\n`);
}

/** Lines for the person at the terminal, kept off stdout so `--json` output stays parseable. */
export function note(message: string): void {
  process.stderr.write(`${message}\n`);
}

function detailLines(details: unknown): string[] {
  if (!Array.isArray(details)) return [];
  return details.map((d) => {
    if (typeof d === 'string') return d;
    const { path, message } = (d ?? {}) as { path?: unknown; message?: unknown };
    return path ? `${String(path)}: ${String(message)}` : String(message ?? JSON.stringify(d));
  });
}

/**
 * Prints an error as `error: <code>: <message>` and its field details, or as the API's JSON
 * error shape with `--json`; returns the exit code.
 */
export function reportError(error: unknown, json: boolean): number {
  let code = 'internal';
  let message = error instanceof Error ? error.message : String(error);
  let details: unknown = null;
  if (error instanceof ApiError || error instanceof CliError) {
    code = error.code;
    message = error.message;
    details = error.details;
  }
  if (json) {
    printJson({ error: { code, message, details } });
  } else {
    const lines = detailLines(details);
    process.stderr.write(`error: ${code}: ${message}\n`);
    for (const line of lines) process.stderr.write(`  - ${line}\n`);
    if (code === 'internal' && error instanceof Error && error.stack) {
      process.stderr.write(`${error.stack}\n`);
    }
  }
  return EXIT.error;
}

export function formatDuration(ms: number): string {
  const s = Math.round(ms / 1000);
  if (s < 60) return `${Math.max(0, ms / 1000).toFixed(ms < 10_000 ? 1 : 0)}s`;
  const m = Math.floor(s / 60);
  if (m < 60) return `${m}m${String(s % 60).padStart(2, '0')}s`;
  return `${Math.floor(m / 60)}h${String(m % 60).padStart(2, '0')}m`;
}

/** A plain table: columns padded to their widest cell. */
export function table(rows: string[][]): string {
  const widths: number[] = [];
  for (const row of rows) {
    row.forEach((cell, i) => {
      widths[i] = Math.max(widths[i] ?? 0, cell.length);
    });
  }
  return rows
    .map((row) =>
      row.map((cell, i) => (i === row.length - 1 ? cell : cell.padEnd(widths[i] ?? 0))).join('  '),
    )
    .join('\n');
}
