import type { Command } from 'commander';
import { apiClient, type GlobalOptions } from '../context.js';
import { printJson, table } from '../output.js';

interface AdminFlags {
  adminToken?: string;
}

function adminClient(flags: AdminFlags, command: Command) {
  const globals = command.optsWithGlobals<GlobalOptions>();
  const client = apiClient(
    globals,
    flags.adminToken === undefined ? {} : { adminToken: flags.adminToken },
  );
  return { client, json: globals.json === true };
}

const ADMIN_TOKEN_OPTION = [
  '--admin-token <token>',
  'the admin credential (default: ADMIN_TOKEN)',
] as const;

export function tenantsCommand(program: Command): void {
  const tenants = program
    .command('tenants')
    .description('manage tenants and their API keys (admin)');
  tenants
    .command('create')
    .description('create a tenant; prints its API key and webhook secret (the key only once)')
    .argument('<name>', 'a name for the tenant')
    .option(...ADMIN_TOKEN_OPTION)
    .addHelpText(
      'after',
      `
Examples:
  voxline tenants create "Audiobooks team"
  export VOXLINE_API_KEY=$(voxline tenants create ci --json | jq -r .api_key)`,
    )
    .action(async (name: string, flags: AdminFlags, command: Command) => {
      const { client, json } = adminClient(flags, command);
      const tenant = await client.createTenant(name);
      if (json) {
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

  const keys = tenants
    .command('keys')
    .description("a tenant's API keys: list, issue another, revoke one (rotation)");
  keys
    .command('list')
    .description("list a tenant's keys: id, prefix and dates (never the key)")
    .argument('<tenant-id>', 'the tenant')
    .option(...ADMIN_TOKEN_OPTION)
    .action(async (tenantId: string, flags: AdminFlags, command: Command) => {
      const { client, json } = adminClient(flags, command);
      const list = await client.listApiKeys(tenantId);
      if (json) {
        printJson(list);
        return;
      }
      console.log(
        table([
          ['key id', 'prefix', 'created', 'revoked'],
          ...list.data.map((k) => [k.id, `${k.prefix}…`, k.created_at, k.revoked_at ?? '-']),
        ]),
      );
    });
  keys
    .command('issue')
    .description('issue another key for a tenant; prints it once (the other keys stay valid)')
    .argument('<tenant-id>', 'the tenant')
    .option(...ADMIN_TOKEN_OPTION)
    .addHelpText(
      'after',
      `
Rotation: issue a key, move the client to it, then revoke the old one.

Examples:
  voxline tenants keys issue 0193c3d6-5c7e-7a51-9f0e-2b8f4c1d9e21
  voxline tenants keys revoke 0193c3d6-5c7e-7a51-9f0e-2b8f4c1d9e21 0193c3d7-0a1b-7c2d-8e3f-405162738495`,
    )
    .action(async (tenantId: string, flags: AdminFlags, command: Command) => {
      const { client, json } = adminClient(flags, command);
      const issued = await client.issueApiKey(tenantId);
      if (json) {
        printJson(issued);
        return;
      }
      console.log(`api key issued: ${issued.id}`);
      console.log(`  api key: ${issued.api_key}`);
      console.log('');
      console.log('The API key is shown this once (only its hash is stored).');
    });
  keys
    .command('revoke')
    .description("revoke one of a tenant's keys: requests with it are refused from now on")
    .argument('<tenant-id>', 'the tenant')
    .argument('<key-id>', 'the key (an id from `voxline tenants keys list`)')
    .option(...ADMIN_TOKEN_OPTION)
    .action(async (tenantId: string, keyId: string, flags: AdminFlags, command: Command) => {
      const { client, json } = adminClient(flags, command);
      const key = await client.revokeApiKey(tenantId, keyId);
      if (json) {
        printJson(key);
        return;
      }
      console.log(`api key ${key.id} (${key.prefix}…) revoked at ${key.revoked_at}`);
    });
}
