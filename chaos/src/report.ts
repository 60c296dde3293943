import { cpus, release, totalmem, type } from 'node:os';
import type { Check } from './observe.js';

/** What one scenario run established: the report's row and the tests' assertions. */
export interface ScenarioResult {
  scenario: string;
  title: string;
  /** Lines (clone jobs) accepted, or requests sent for the input scenarios. */
  lines: number;
  /** What was done to the system, in words and by count. */
  faults: string;
  faultCounts: Record<string, number>;
  /**
   * Accepted lines that never reached a terminal state: must be 0. This and the two below are
   * null where the scenario does not measure them (the report shows n/a, not a made-up 0).
   */
  lost: number | null;
  /** Upstream submissions beyond one per line, and how many of them the worker counted. */
  duplicates: number | null;
  ambiguous: number | null;
  /** Per fault: from the end of the fault to the next line finishing, in ms. */
  recoveryMs: number[];
  durationMs: number;
  outcomes: Record<string, number>;
  checks: Check[];
  notes: string[];
}

/**
 * The result of a scenario that measures no line audit (lost, duplicates, ambiguous, recovery
 * and outcomes read n/a in the report, not a made-up 0).
 */
export function unmeasuredResult(
  result: Pick<
    ScenarioResult,
    'scenario' | 'title' | 'lines' | 'faults' | 'faultCounts' | 'checks'
  >,
  started: number,
): ScenarioResult {
  return {
    ...result,
    lost: null,
    duplicates: null,
    ambiguous: null,
    recoveryMs: [],
    durationMs: Date.now() - started,
    outcomes: {},
    notes: [],
  };
}

export function failedChecks(result: ScenarioResult): string[] {
  return result.checks.filter((c) => !c.ok).map((c) => `${c.name}: ${c.detail}`);
}

function ms(value: number): string {
  return value >= 10_000 ? `${(value / 1000).toFixed(1)} s` : `${Math.round(value)} ms`;
}

export function recoverySummary(values: number[]): string {
  if (values.length === 0) return 'n/a';
  const sorted = [...values].sort((a, b) => a - b);
  const median = sorted[Math.floor(sorted.length / 2)] ?? 0;
  const max = sorted[sorted.length - 1] ?? 0;
  return values.length === 1 ? ms(max) : `median ${ms(median)}, max ${ms(max)} (${values.length})`;
}

/** A figure the scenario measured, or n/a. */
export function measured(value: number | null): string {
  return value === null ? 'n/a' : String(value);
}

function counts(record: Record<string, number>): string {
  const entries = Object.entries(record).sort(([a], [b]) => a.localeCompare(b));
  return entries.length ? entries.map(([k, v]) => `${k} ${v}`).join(', ') : '-';
}

export function machineLine(now = new Date()): string {
  const cpu = cpus()[0]?.model.trim() ?? 'unknown CPU';
  const memory = Math.round(totalmem() / 1024 ** 3);
  return `${type()} ${release()}, ${cpus().length} cores (${cpu}), ${memory} GiB RAM, Node ${process.version}; ${now.toISOString()}`;
}

/** The results file: a summary table, then each scenario's checks and notes. */
export function renderReport(
  results: ScenarioResult[],
  meta: { machine: string; mode: string; seed: number; totalMs: number; logDir: string },
): string {
  const lines: string[] = [];
  lines.push('# voxline chaos results', '');
  lines.push(`- Machine: ${meta.machine}`);
  lines.push(`- Mode: ${meta.mode}, seed ${meta.seed}, total ${ms(meta.totalMs)}`);
  lines.push(
    `- Produced by \`pnpm chaos\` (chaos/src/run.ts); process logs were in ${meta.logDir}`,
  );
  const failed = results.filter((r) => failedChecks(r).length > 0);
  lines.push(
    `- Verdict: ${failed.length === 0 ? 'every check passed' : `FAILED: ${failed.map((r) => r.scenario).join(', ')}`}`,
    '',
  );
  lines.push(
    '| scenario | lines | faults injected | lost | duplicates (ambiguous counted) | recovery after fault | wall time |',
    '| --- | ---: | --- | ---: | --- | --- | ---: |',
  );
  for (const r of results) {
    lines.push(
      `| ${r.title} | ${r.lines} | ${r.faults} | ${measured(r.lost)} | ${r.duplicates === null ? 'n/a' : `${r.duplicates} (${measured(r.ambiguous)})`} | ${recoverySummary(r.recoveryMs)} | ${ms(r.durationMs)} |`,
    );
  }
  lines.push('');
  for (const r of results) {
    lines.push(`## ${r.title}`, '');
    lines.push(`- Faults: ${counts(r.faultCounts)}`);
    lines.push(`- Outcomes: ${counts(r.outcomes)}`);
    if (r.recoveryMs.length) {
      lines.push(`- Recovery per fault (ms): ${r.recoveryMs.map((v) => Math.round(v)).join(', ')}`);
    }
    for (const note of r.notes) lines.push(`- ${note}`);
    lines.push('', '| check | result | detail |', '| --- | --- | --- |');
    for (const c of r.checks) {
      lines.push(
        `| ${c.name} | ${c.ok ? 'pass' : '**FAIL**'} | ${c.detail.replaceAll('|', '\\|')} |`,
      );
    }
    lines.push('');
  }
  return lines.join('\n');
}
