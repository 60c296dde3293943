import type { DeadLetterResponse as DeadLetter } from '@voxline/contract';
import type { Command } from 'commander';
import { apiClient, type GlobalOptions } from '../context.js';
import { CliError, printJson, table } from '../output.js';
import { positiveInt, uuidList } from './shared.js';

const PAGE = 1_000;

export function deadLettersCommand(program: Command): void {
  program
    .command('dead-letters')
    .description('list lines that failed for good, with their error')
    .option('--batch <id>', "only this batch's")
    .option('--code <code>', 'only this error code (e.g. 2039, upstream_timeout)')
    .option('--since <iso-date>', 'only those since this ISO 8601 date-time')
    .option('--all', 'include dead letters already redriven')
    .option('--limit <n>', 'at most this many', positiveInt, 100)
    .addHelpText(
      'after',
      `
Examples:
  voxline dead-letters --batch 0193c3d6-5c7e-7a51-9f0e-2b8f4c1d9e21
  voxline dead-letters --code 1505 --json`,
    )
    .action(
      async (
        flags: { batch?: string; code?: string; since?: string; all?: boolean; limit: number },
        command: Command,
      ) => {
        const globals = command.optsWithGlobals<GlobalOptions>();
        const client = apiClient(globals);
        const filter: Record<string, string> = {};
        if (flags.batch) filter.batch_id = flags.batch;
        if (flags.code) filter.error_code = flags.code;
        if (flags.since) filter.since = flags.since;
        if (flags.all) filter.include_redriven = 'true';
        const found: DeadLetter[] = [];
        let cursor: string | null = null;
        let more = false;
        do {
          const page = await client.listDeadLetters(
            filter,
            cursor,
            Math.min(PAGE, flags.limit - found.length),
          );
          found.push(...page.data);
          cursor = page.next_cursor;
          more = cursor !== null;
        } while (cursor && found.length < flags.limit);
        if (globals.json) {
          printJson({ data: found, more });
          return;
        }
        if (found.length === 0) {
          console.log('no dead letters');
          return;
        }
        console.log(
          table([
            ['dead letter', 'clone', 'code', 'attempts', 'created', 'redriven', 'message'],
            ...found.map((d) => [
              d.id,
              d.clone_id,
              d.error.code,
              String(d.attempts),
              d.created_at,
              d.redriven_at ?? '-',
              d.error.message.length > 80 ? `${d.error.message.slice(0, 79)}…` : d.error.message,
            ]),
          ]),
        );
        if (more) console.log(`(the first ${found.length}; --limit shows more)`);
      },
    );
}

export function redriveCommand(program: Command): void {
  program
    .command('redrive')
    .description('run failed lines again: by batch, by error code or by id')
    .option('--batch <id>', 'every dead letter of this batch')
    .option('--code <code>', 'every dead letter with this error code')
    .option(
      '--ids <ids>',
      'these dead-letter or clone ids, comma-separated (at most 1000)',
      uuidList,
    )
    .addHelpText(
      'after',
      `
Each line starts again as a fresh run; its history and dead letter are kept.

Examples:
  voxline redrive --batch 0193c3d6-5c7e-7a51-9f0e-2b8f4c1d9e21
  voxline redrive --code 1003
  voxline redrive --ids 0193c3d6-6a10-7b42-8c3d-1e2f3a4b5c6d,0193c3d6-6a10-7b42-8c3d-1e2f3a4b5c6e`,
    )
    .action(async (flags: { batch?: string; code?: string; ids?: string[] }, command: Command) => {
      const globals = command.optsWithGlobals<GlobalOptions>();
      const given = [flags.batch, flags.code, flags.ids].filter((v) => v !== undefined);
      if (given.length !== 1) {
        throw new CliError('invalid_option', 'give exactly one of --batch, --code or --ids');
      }
      const body = flags.batch
        ? { batch_id: flags.batch }
        : flags.code
          ? { error_code: flags.code }
          : { ids: flags.ids ?? [] };
      const result = await apiClient(globals).redrive(body);
      if (globals.json) printJson(result);
      else {
        console.log(
          `redriven: ${result.redriven} line${result.redriven === 1 ? '' : 's'} queued again`,
        );
        for (const id of result.clone_ids.slice(0, 20)) console.log(`  clone ${id}`);
        if (result.clone_ids.length > 20)
          console.log(`  … and ${result.clone_ids.length - 20} more`);
      }
    });
}
