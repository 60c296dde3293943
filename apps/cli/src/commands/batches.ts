import type { BatchResponse as Batch } from '@voxline/contract';
import type { Command } from 'commander';
import { apiClient, type GlobalOptions, interruption } from '../context.js';
import { CliError, printJson, table } from '../output.js';
import { batchSpent, formatMoney } from '../watch/cost.js';
import { exitCodeOf, follow, printSummary, reportInterrupted } from '../watch/follow.js';
import { writeResults } from '../watch/results.js';
import { DEFAULT_POLL_INTERVAL_MS } from '../watch/watch.js';
import { followJson } from './enqueue.js';
import { apiFlag, positiveInt } from './shared.js';

function batchTable(batches: Batch[]): string {
  return table([
    [
      'batch',
      'status',
      'total',
      'queued',
      'running',
      'succeeded',
      'failed',
      'canceled',
      'spent / estimated',
    ],
    ...batches.map((b) => [
      b.id,
      b.status,
      String(b.total),
      String(b.counts.queued),
      String(b.counts.submitting + b.counts.running),
      String(b.counts.succeeded),
      String(b.counts.failed),
      String(b.counts.canceled),
      `${formatMoney(batchSpent(b), b.cost.currency)} / ${formatMoney(b.cost.estimated, b.cost.currency)}`,
    ]),
  ]);
}

function earliestStart(batches: Batch[]): number {
  const times = batches.map((b) => Date.parse(b.created_at)).filter((t) => Number.isFinite(t));
  const first = Math.min(...times);
  return Number.isFinite(first) && first <= Date.now() ? first : Date.now();
}

export function statusCommand(program: Command): void {
  program
    .command('status')
    .description("show a batch's lines by status; --wait follows it to the end")
    .argument('<batch-ids...>', 'one or more batch ids')
    .option('--wait', 'show progress until every line is done, then a summary')
    .option('--out <file>', 'write results.csv (ref, line, status, audio url, error)')
    .option(
      '--interval <ms>',
      'how often to ask for progress',
      positiveInt,
      DEFAULT_POLL_INTERVAL_MS,
    )
    .addHelpText(
      'after',
      `
Examples:
  voxline status 0193c3d6-5c7e-7a51-9f0e-2b8f4c1d9e21
  voxline status 0193c3d6-5c7e-7a51-9f0e-2b8f4c1d9e21 --wait --out results.csv`,
    )
    .action(
      async (
        ids: string[],
        flags: { wait?: boolean; out?: string; interval: number },
        command: Command,
      ) => {
        const globals = command.optsWithGlobals<GlobalOptions>();
        const json = globals.json ?? false;
        const client = apiClient(globals);
        const current = await Promise.all(ids.map((id) => client.getBatch(id)));
        if (!flags.wait) {
          const results = flags.out
            ? await writeResults(
                client,
                ids.map((id) => ({ id })),
                flags.out,
              )
            : null;
          if (json) {
            printJson(
              current.length === 1 && !results
                ? current[0]
                : { batches: current, results_file: results?.file ?? null },
            );
          } else {
            console.log(batchTable(current));
            if (results) console.log(`results (${results.rows} rows): ${results.file}`);
          }
          return;
        }
        const stop = interruption();
        try {
          const result = await follow(
            client,
            ids.map((id) => ({ id })),
            {
              json,
              intervalMs: flags.interval,
              out: flags.out,
              signal: stop.signal,
              startedAt: earliestStart(current),
            },
          );
          if (json) printJson({ batches: result.batches, ...followJson(result) });
          else {
            console.log(batchTable(result.batches));
            printSummary(result);
          }
          process.exitCode = exitCodeOf(result);
        } catch (error) {
          if (!stop.signal.aborted) throw error;
          process.exitCode = reportInterrupted(ids, json, apiFlag(globals));
        } finally {
          stop.dispose();
        }
      },
    );
}

export function cancelCommand(program: Command): void {
  program
    .command('cancel')
    .description('cancel every line of a batch not yet done, or one clone (--clone)')
    .argument('[batch-id]', 'the batch to cancel')
    .option('--clone <id>', 'cancel one clone instead of a batch')
    .addHelpText(
      'after',
      `
Lines already submitted to RunningHub finish there (and are paid for); their results are dropped.

Examples:
  voxline cancel 0193c3d6-5c7e-7a51-9f0e-2b8f4c1d9e21
  voxline cancel --clone 0193c3d6-6a10-7b42-8c3d-1e2f3a4b5c6d`,
    )
    .action(async (batchId: string | undefined, flags: { clone?: string }, command: Command) => {
      const globals = command.optsWithGlobals<GlobalOptions>();
      const json = globals.json ?? false;
      if ((batchId === undefined) === (flags.clone === undefined)) {
        throw new CliError('invalid_option', 'give a batch id or --clone ID (one of them)');
      }
      const client = apiClient(globals);
      if (flags.clone) {
        const clone = await client.cancelClone(flags.clone);
        if (json) printJson(clone);
        else console.log(`clone ${clone.id}: ${clone.status}`);
        return;
      }
      const batch = await client.cancelBatch(batchId as string);
      if (json) {
        printJson(batch);
        return;
      }
      console.log(
        `batch ${batch.id}: ${batch.status}; ${batch.canceled} line${batch.canceled === 1 ? '' : 's'} canceled now`,
      );
      console.log(batchTable([batch]));
    });
}
