import type { BatchResponse as Batch, StatusCounts } from '@voxline/contract';
import type { ApiClient } from '../api/client.js';
import { EXIT, formatDuration, note, printJson } from '../output.js';
import { batchesMoney, formatMoney, type Money } from './cost.js';
import { createProgress, printLine } from './progress.js';
import { type ResultSource, type ResultsSummary, writeResults } from './results.js';
import { sumCounts, watchBatches } from './watch.js';

export interface FollowOptions {
  json: boolean;
  intervalMs: number;
  out?: string | undefined;
  signal: AbortSignal;
  /** When the work began (the enqueue), for the elapsed time and the rate. */
  startedAt: number;
}

export interface FollowResult {
  batches: Batch[];
  total: number;
  counts: StatusCounts;
  /** What the lines cost (the batches' `cost`), against their estimate. */
  money: Money | null;
  elapsedMs: number;
  /** Lines finished per second over the whole wait. */
  rate: number;
  results: ResultsSummary | null;
}

export function progressMode(json: boolean): 'bar' | 'lines' | 'none' {
  if (process.stderr.isTTY) return 'bar';
  return json ? 'none' : 'lines';
}

/** Waits with a progress display until every line is terminal, then writes `--out`. */
export async function follow(
  client: ApiClient,
  sources: ResultSource[],
  options: FollowOptions,
): Promise<FollowResult> {
  const progress = createProgress(progressMode(options.json));
  let batches: Batch[];
  try {
    batches = await watchBatches(
      client,
      sources.map((s) => s.id),
      {
        intervalMs: options.intervalMs,
        signal: options.signal,
        onUpdate: (snapshot) => progress.update(snapshot),
      },
    );
  } finally {
    progress.stop();
  }
  const elapsedMs = Date.now() - options.startedAt;
  const total = batches.reduce((n, b) => n + b.total, 0);
  const results = options.out ? await writeResults(client, sources, options.out) : null;
  return {
    batches,
    total,
    counts: sumCounts(batches),
    money: batchesMoney(batches),
    elapsedMs,
    rate: elapsedMs > 0 ? (total * 1000) / elapsedMs : 0,
    results,
  };
}

export function exitCodeOf(result: FollowResult): number {
  return result.counts.failed + result.counts.canceled > 0 ? EXIT.unfinishedLines : EXIT.ok;
}

/** The human summary after a wait. */
export function printSummary(result: FollowResult): void {
  const c = result.counts;
  printLine(
    `done in ${formatDuration(result.elapsedMs)}: ${result.total} lines, ${result.rate.toFixed(1)} lines/s`,
  );
  printLine(`  succeeded ${c.succeeded}, failed ${c.failed}, canceled ${c.canceled}`);
  if (result.money) {
    const m = result.money;
    printLine(
      `  cost ${formatMoney(m.spent, m.currency)} (estimated ${formatMoney(m.estimated, m.currency)})`,
    );
  }
  if (result.results) {
    printLine(`  results (${result.results.rows} rows): ${result.results.file}`);
  }
  if (c.failed > 0) {
    const ids = result.batches.map((b) => b.id);
    const one = ids.length === 1 ? ids[0] : '<batch id>';
    printLine(`  why lines failed: voxline dead-letters --batch ${one}`);
    printLine(`  run them again:   voxline redrive --batch ${one}`);
  }
}

/** Ctrl-C during a wait: the work goes on server-side; say how to pick it up again. */
export function reportInterrupted(batchIds: string[], json: boolean, apiFlag: string): number {
  const follow = `voxline${apiFlag} status ${batchIds.join(' ')} --wait`;
  note('');
  note(
    `interrupted: ${batchIds.length === 1 ? 'the batch keeps' : `the ${batchIds.length} batches keep`} running on the server.`,
  );
  note(`follow ${batchIds.length === 1 ? 'it' : 'them'} with: ${follow}`);
  if (json) printJson({ interrupted: true, batch_ids: batchIds, follow });
  return EXIT.interrupted;
}
