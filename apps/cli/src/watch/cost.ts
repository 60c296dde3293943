import type { BatchResponse as Batch } from '@voxline/contract';

/**
 * Money as the API reports it: every line has `cost: { estimated, actual, currency }`, where
 * `actual` is what upstream billed (`usage.consumeMoney`), null until it is known or when
 * upstream did not say; a batch sums its lines (and the clone of a voice it created).
 */
export interface Money {
  /** What the finished lines cost: what upstream billed, or the estimate where it did not say. */
  spent: number;
  /** What the whole batch is estimated to cost. */
  estimated: number;
  currency: string;
}

/**
 * What a batch has cost so far. Its `cost.actual` sums what upstream billed its lines; when no
 * line had a bill (upstream leaves `consumeMoney` out at times), the succeeded lines' share of
 * the estimate stands in for it, the batch's sum having no per-line detail.
 */
export function batchSpent(batch: Pick<Batch, 'cost' | 'counts' | 'total'>): number {
  if (batch.cost.actual !== null) return batch.cost.actual;
  return batch.total > 0 ? (batch.cost.estimated * batch.counts.succeeded) / batch.total : 0;
}

export function batchesMoney(batches: Batch[]): Money | null {
  if (batches.length === 0) return null;
  let spent = 0;
  let estimated = 0;
  for (const b of batches) {
    spent += batchSpent(b);
    estimated += b.cost.estimated;
  }
  return { spent, estimated, currency: batches[0]?.cost.currency ?? 'CNY' };
}

/** `13.38 CNY`; small sums keep the digits that make them differ from zero (`0.0310 CNY`). */
export function formatMoney(value: number, currency = 'CNY'): string {
  const abs = Math.abs(value);
  const digits = abs === 0 || abs >= 1 ? 2 : 4;
  return `${value.toLocaleString('en-US', { minimumFractionDigits: digits, maximumFractionDigits: digits })} ${currency}`;
}

/** `spent 1.23 of 13.38 CNY (estimated)` */
export function moneyText(money: Money): string {
  return `spent ${formatMoney(money.spent, money.currency)} of ${formatMoney(money.estimated, money.currency)} estimated`;
}
