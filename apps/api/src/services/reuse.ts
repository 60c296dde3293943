import { canonicalRequestHash } from '@voxline/contract';
import {
  type CloneJob,
  type Executor,
  findReusableAudio,
  insertReusedAudio,
  type NewCloneJob,
  recordReusedTransitions,
} from '@voxline/db';
import { roundPrice } from '@voxline/runninghub';
import { recordCloneEvents } from '@voxline/webhooks';
import type { AppContext } from '../context.js';

/** A new line that will succeed from stored audio: its row, and whose audio row it copies. */
export interface ReuseMatch {
  row: NewCloneJob;
  sourceId: string;
}

/** A line's row before reuse is decided: every column reuse may set is given (unnest needs it). */
export type LineRow = NewCloneJob & Required<Pick<NewCloneJob, 'kind' | 'voiceId' | 'request'>>;

/** Gives a new line its canonical request hash and leaves it paying, until reuse says otherwise. */
export function withCanonicalHash(row: LineRow): NewCloneJob {
  return {
    ...row,
    canonicalHash: canonicalRequestHash({
      kind: row.kind,
      voiceId: row.voiceId ?? null,
      request: row.request,
    }),
    status: 'queued',
    completedAt: null,
    reusedFrom: null,
    savedCost: null,
    actualCost: null,
  };
}

/**
 * Inside the accepting transaction, before the insert: finds, in one query, which of the rows
 * allowed to reuse (`allowed`) ask for audio the tenant already has stored, and rewrites those
 * rows to be inserted succeeded: cost 0 (estimated and actual), `saved_cost` = their estimate,
 * `reused_from` = the line that paid. Returns them with the rows whose audio they copy.
 */
export async function planReuse(
  tx: Executor,
  tenantId: string,
  rows: NewCloneJob[],
  allowed: (row: NewCloneJob, index: number) => boolean,
): Promise<ReuseMatch[]> {
  const candidates = rows.filter(allowed);
  const stored = await findReusableAudio(tx, {
    tenantId,
    hashes: candidates.flatMap((row) => (row.canonicalHash ? [row.canonicalHash] : [])),
  });
  const matches: ReuseMatch[] = [];
  const now = new Date();
  for (const row of candidates) {
    const source = row.canonicalHash ? stored.get(row.canonicalHash) : undefined;
    if (!source) continue;
    row.savedCost = row.estimatedCost ?? 0;
    row.estimatedCost = 0;
    row.actualCost = 0;
    row.reusedFrom = source.originId;
    row.status = 'succeeded';
    row.completedAt = now;
    matches.push({ row, sourceId: source.sourceId });
  }
  return matches;
}

/**
 * After the rows are inserted (the reused ones succeeded, with their creation events), in the
 * same transaction: copies each reused line's audio row, writes their queued → succeeded
 * transitions (so their history reads like any line's, with the source in the event), and
 * records their `clone.succeeded` events. Returns the lines and the deliveries to enqueue once
 * committed.
 */
export async function completeReused(
  ctx: AppContext,
  tx: Executor,
  tenantId: string,
  matches: ReuseMatch[],
): Promise<{ jobs: CloneJob[]; deliveries: string[] }> {
  if (matches.length === 0) return { jobs: [], deliveries: [] };
  const audio = await insertReusedAudio(tx, {
    tenantId,
    pairs: matches.map((m) => ({ cloneJobId: m.row.id, sourceId: m.sourceId })),
  });
  const jobs = await recordReusedTransitions(tx, {
    tenantId,
    detailById: new Map(
      matches.map((m) => [
        m.row.id,
        { reason: 'reused stored audio', reused_from: m.row.reusedFrom },
      ]),
    ),
  });
  const deliveries = await recordCloneEvents(
    tx,
    jobs,
    { baseUrl: ctx.baseUrl },
    new Map(audio.map((row) => [row.cloneJobId, row])),
  );
  return { jobs, deliveries };
}

/** Counts reused lines and what they saved, by kind, model and tenant (after the commit). */
export function countReuse(ctx: AppContext, tenantId: string, matches: ReuseMatch[]): void {
  const totals = new Map<string, { kind: string; model: string; lines: number; saved: number }>();
  for (const { row } of matches) {
    const kind = row.kind ?? 'voice_clone';
    const model = row.request.model;
    const key = `${kind}|${model}`;
    const total = totals.get(key) ?? { kind, model, lines: 0, saved: 0 };
    total.lines += 1;
    total.saved += row.savedCost ?? 0;
    totals.set(key, total);
  }
  for (const { kind, model, lines, saved } of totals.values()) {
    const labels = { kind, model, tenant: tenantId };
    ctx.apiMetrics.reusedLines.inc(labels, lines);
    ctx.apiMetrics.reuseSaved.inc(labels, roundPrice(saved));
  }
}

/** What the reused lines would have cost, together. */
export function savedBy(matches: ReuseMatch[]): number {
  return roundPrice(matches.reduce((sum, m) => sum + (m.row.savedCost ?? 0), 0));
}
