import { execFile } from 'node:child_process';
import { existsSync, readdirSync } from 'node:fs';
import { chown, mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { freePort, listens } from '@voxline/testing/net';
import { waitFor } from '@voxline/testing/wait';

const run = promisify(execFile);

const HOW_TO_INSTALL =
  'install PostgreSQL 15+ server binaries (e.g. `apt-get install postgresql`): the Postgres ' +
  'outage scenario starts and stops a cluster of its own';

/** The newest server binaries on the machine: Debian's layout first, then the PATH. */
function binDir(): string {
  const root = '/usr/lib/postgresql';
  if (existsSync(root)) {
    const versions = readdirSync(root)
      .filter((v) => existsSync(join(root, v, 'bin', 'initdb')))
      .sort((a, b) => Number(b) - Number(a));
    if (versions[0]) return join(root, versions[0], 'bin');
  }
  for (const dir of ['/usr/local/bin', '/usr/bin']) {
    if (existsSync(join(dir, 'initdb')) && existsSync(join(dir, 'pg_ctl'))) return dir;
  }
  throw new Error(`no initdb/pg_ctl found: ${HOW_TO_INSTALL}`);
}

/**
 * A throwaway Postgres cluster (initdb into a temp dir, trust auth, loopback only) that a
 * scenario can stop and start at will. Postgres refuses to run as root, and the tests run as
 * root in CI: then its commands run as the `postgres` user, which owns the temp dir.
 */
export class PostgresServer {
  readonly #bin: string;
  #running = false;

  private constructor(
    readonly port: number,
    readonly dir: string,
    bin: string,
  ) {
    this.#bin = bin;
  }

  /** The server URL (its `postgres` database). */
  get url(): string {
    return `postgres://postgres@127.0.0.1:${this.port}/postgres`;
  }

  databaseUrl(name: string): string {
    return `postgres://postgres@127.0.0.1:${this.port}/${name}`;
  }

  get dataDir(): string {
    return join(this.dir, 'data');
  }

  static async start(): Promise<PostgresServer> {
    const bin = binDir();
    const dir = await mkdtemp(join(tmpdir(), 'voxline-chaos-pg-'));
    const server = new PostgresServer(await freePort(), dir, bin);
    if (process.getuid?.() === 0) {
      const uid = Number((await run('id', ['-u', 'postgres'])).stdout.trim());
      const gid = Number((await run('id', ['-g', 'postgres'])).stdout.trim());
      if (!Number.isInteger(uid)) throw new Error(`no postgres user to run the cluster as`);
      await chown(dir, uid, gid);
    }
    await server.#exec('initdb', [
      '-D',
      server.dataDir,
      '-U',
      'postgres',
      '-A',
      'trust',
      '-E',
      'UTF8',
      '--locale=C',
      '--no-sync',
    ]);
    await server.start();
    return server;
  }

  async start(): Promise<void> {
    // fsync off: this cluster holds test data only, and an immediate stop is not a power cut.
    const options = [
      `-p ${this.port}`,
      `-k ${this.dir}`,
      '-c listen_addresses=127.0.0.1',
      '-c fsync=off',
      '-c full_page_writes=off',
      '-c max_connections=200',
    ].join(' ');
    await this.#exec('pg_ctl', [
      '-D',
      this.dataDir,
      '-l',
      join(this.dir, 'server.log'),
      '-o',
      options,
      '-w',
      '-t',
      '60',
      'start',
    ]);
    this.#running = true;
    await waitFor(`postgres on port ${this.port}`, () => listens('127.0.0.1', this.port, 200), {
      timeoutMs: 30_000,
    });
  }

  /**
   * `immediate` drops every connection at once, the way a crash or a failover does; the next
   * start replays the WAL.
   */
  async stop(mode: 'immediate' | 'fast' = 'immediate'): Promise<void> {
    if (!this.#running) return;
    this.#running = false;
    await this.#exec('pg_ctl', ['-D', this.dataDir, '-m', mode, '-w', '-t', '60', 'stop']);
  }

  async close(): Promise<void> {
    await this.stop('immediate').catch(() => {});
    await rm(this.dir, { recursive: true, force: true });
  }

  async #exec(tool: string, args: string[]): Promise<void> {
    const path = join(this.#bin, tool);
    const [command, argv] =
      process.getuid?.() === 0
        ? ['runuser', ['-u', 'postgres', '--', path, ...args]]
        : [path, args];
    try {
      await run(command, argv, { cwd: this.dir, timeout: 120_000 });
    } catch (error) {
      const { stderr, stdout } = error as { stderr?: string; stdout?: string };
      throw new Error(`${tool} ${args.join(' ')} failed: ${stderr || stdout || String(error)}`);
    }
  }
}
