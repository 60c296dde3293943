import type { Command } from 'commander';
import { apiClient, type GlobalOptions } from '../context.js';
import { printJson } from '../output.js';

export function tenantsCommand(program: Command): void {
  const tenants = program.command('tenants').description('manage tenants (admin)');
  tenants
    .command('create')
    .description('create a tenant; prints its API key and webhook secret (the key only once)')
    .argument('<name>', 'a name for the tenant')
    .option('--admin-token <token>', 'the admin credential (default: ADMIN_TOKEN)')
    .addHelpText(
      'after',
      `
Examples:
  voxline tenants create "Audiobooks team"
  export VOXLINE_API_KEY=$(voxline tenants create ci --json | jq -r .api_key)`,
    )
    .action(async (name: string, flags: { adminToken?: string }, command: Command) => {
      const globals = command.optsWithGlobals<GlobalOptions>();
      const client = apiClient(
        globals,
        flags.adminToken === undefined ? {} : { adminToken: flags.adminToken },
      );
      const tenant = await client.createTenant(name);
      if (globals.json) {
        printJson(tenant);
        return;
      }
      console.log(`tenant created: ${tenant.name}`);
      console.log(`  tenant id:      ${tenant.tenant_id}`);
      console.log(`  api key:        ${tenant.api_key}`);
      console.log(`  webhook secret: ${tenant.webhook_secret}`);
      console.log('');
      console.log('The API key is shown this once (only its hash is stored). Use it with:');
      console.log(`  export VOXLINE_API_KEY=${tenant.api_key}`);
    });
}
