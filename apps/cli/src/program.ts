import { Command } from 'commander';
import { cancelCommand, statusCommand } from './commands/batches.js';
import { deadLettersCommand, redriveCommand } from './commands/dead-letters.js';
import { downloadCommand } from './commands/download.js';
import { enqueueCommand } from './commands/enqueue.js';
import { demoCommand, startCommand } from './commands/start.js';
import { tenantsCommand } from './commands/tenants.js';
import { voicesCommand } from './commands/voices.js';

/** The `voxline` command line; `main.ts` runs it. */
export function buildProgram(): Command {
  const program = new Command('voxline')
    .description('voxline: narration lines to audio in a cloned voice, at scale')
    .option('--api <url>', 'the voxline API (default: VOXLINE_API_URL, else http://127.0.0.1:3000)')
    .option('--key <key>', "a tenant's API key, vxl_… (default: VOXLINE_API_KEY)")
    .option('--json', 'machine-readable output on stdout (progress and hints stay on stderr)')
    .showHelpAfterError('(voxline --help lists the commands)')
    .addHelpText(
      'after',
      `
Exit codes: 0 done, 1 error, 2 waited to the end but some lines failed or were canceled,
130 interrupted (the batch keeps running). Docs: docs/cli.md`,
    );
  tenantsCommand(program);
  voicesCommand(program);
  enqueueCommand(program);
  statusCommand(program);
  cancelCommand(program);
  downloadCommand(program);
  redriveCommand(program);
  deadLettersCommand(program);
  startCommand(program);
  demoCommand(program);
  return program;
}
