import type { NodeProcess } from '@voxline/testing/process';
import { waitFor } from '@voxline/testing/wait';
import {
  auditLines,
  type Check,
  check,
  countTerminal,
  type LineAudit,
  lineChecks,
  waitSettled,
} from '../observe.js';
import type { ScenarioResult } from '../report.js';
import type { Stack } from '../stack.js';

/** Narration lines of a few dozen characters, numbered so a log line can be traced back. */
export function narration(count: number, label: string): string[] {
  return Array.from(
    { length: count },
    (_, i) => `${label} line ${i + 1}: the rain had stopped, and the street was quiet again.`,
  );
}

/** Waits until at least `count` lines are terminal (the moment to strike). */
export async function waitForTerminal(stack: Stack, count: number, timeoutMs = 120_000) {
  await waitFor(`${count} lines to finish`, async () => (await countTerminal(stack.db)) >= count, {
    timeoutMs,
    intervalMs: 50,
  });
}

export function secretsCheck(stack: Stack): Check {
  const leaked = stack.leakedSecrets();
  return check(
    'no API key, webhook secret or token in any process log',
    leaked.length === 0,
    leaked.length ? `found: ${leaked.join(', ')}` : `${stack.secrets.size} secrets checked`,
  );
}

/** Processes that should have lived through the fault without a restart. */
export function survivedCheck(processes: NodeProcess[], what: string): Check {
  const dead = processes.filter((p) => !p.running);
  return check(
    `${what} kept running through the fault (no restart)`,
    dead.length === 0,
    dead.length
      ? dead.map((p) => `${p.name} exited ${JSON.stringify(p.exit)}: ${p.tail(600)}`).join('; ')
      : `${processes.length} processes`,
  );
}

/** Waits for the end of the run, then audits it against the common invariants. */
export async function settle(
  stack: Stack,
  expectedLines: number,
  timeoutMs: number,
): Promise<{ audit: LineAudit; checks: Check[] }> {
  await waitSettled(stack, timeoutMs);
  const audit = await auditLines(stack);
  return { audit, checks: [...lineChecks(audit, expectedLines), secretsCheck(stack)] };
}

export function allSucceededCheck(audit: LineAudit): Check {
  const succeeded = audit.byOutcome.succeeded ?? 0;
  const others = Object.entries(audit.byOutcome).filter(([k]) => k !== 'succeeded');
  return check(
    'every line succeeded (no upstream fault was injected)',
    succeeded === audit.lines,
    others.length ? others.map(([k, v]) => `${k}: ${v}`).join(', ') : `${succeeded} succeeded`,
  );
}

export function baseResult(
  scenario: string,
  title: string,
  started: number,
  audit: LineAudit,
): Pick<
  ScenarioResult,
  'scenario' | 'title' | 'lines' | 'lost' | 'duplicates' | 'ambiguous' | 'durationMs' | 'outcomes'
> {
  return {
    scenario,
    title,
    lines: audit.lines,
    lost: audit.lost,
    duplicates: audit.extraTasks,
    ambiguous: audit.ambiguous,
    durationMs: Date.now() - started,
    outcomes: audit.byOutcome,
  };
}

/** Counts events of a kind, optionally with a detail flag set (e.g. `adopted`). */
export async function eventCount(stack: Stack, kind: string, detailFlag?: string): Promise<number> {
  const { rows } = await stack.db.pool.query<{ n: string }>(
    detailFlag
      ? `select count(*) as n from clone_job_events where kind = $1 and (detail->>$2) = 'true'`
      : `select count(*) as n from clone_job_events where kind = $1`,
    detailFlag ? [kind, detailFlag] : [kind],
  );
  return Number(rows[0]?.n ?? 0);
}
