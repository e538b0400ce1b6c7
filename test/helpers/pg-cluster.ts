// A throw-away PostgreSQL cluster for fault tests (stop it, crash it, start it again) that
// never touches the shared server: initdb into a temporary directory, pg_ctl on a free port,
// and removal of both however the test ends (afterAll, or at the latest when the process exits).
//
// initdb refuses to run as root, and CI (.ci/run) runs as root: then every binary runs as the
// `postgres` system user (runuser) in a directory that user owns. As any other user the
// binaries run directly.
import { execFileSync, spawn, spawnSync } from 'node:child_process';
import { chmodSync, chownSync, existsSync, mkdtempSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import pg from 'pg';

/** Settings for speed, not durability against an OS crash (which no test simulates). */
const FAST_SETTINGS: Record<string, string> = {
  listen_addresses: '127.0.0.1',
  // fsync only protects against an OS or power failure; a killed server still finds every
  // committed WAL record in the OS cache. synchronous_commit stays on: with it off, a commit
  // acknowledged just before `stop -m immediate` could be lost, and the tests assert it is not.
  fsync: 'off',
  full_page_writes: 'off',
  shared_buffers: '32MB',
  max_connections: '60',
  // Crash recovery then replays a few seconds of WAL at most.
  checkpoint_timeout: '30s',
};

export interface PgCluster {
  /** postgresql:// URL of the cluster's `postgres` database. */
  readonly url: string;
  readonly port: number;
  /** False between a `stop` and the next `start`. */
  readonly running: boolean;
  /** URL of another database on the cluster. */
  urlOf(database: string): string;
  /** Stops the server; `immediate` is a crash (no shutdown checkpoint, recovery on start). */
  stop(mode?: 'immediate' | 'fast' | 'smart'): Promise<void>;
  /** Starts the server and resolves once it accepts connections. */
  start(): Promise<void>;
  /** Runs one SQL statement as the superuser on a short-lived connection (to `url`, by default the `postgres` database). */
  sql<R extends pg.QueryResultRow = pg.QueryResultRow>(text: string, values?: unknown[], url?: string): Promise<R[]>;
  /** Stops the server (immediate) and removes its directory; safe to call twice. */
  destroy(): void;
}

/** The directory of the newest installed PostgreSQL's binaries (PG_BIN overrides). */
export function postgresBinDir(): string {
  if (process.env.PG_BIN) return process.env.PG_BIN;
  const base = '/usr/lib/postgresql';
  const versions = existsSync(base)
    ? readdirSync(base)
        .filter((v) => existsSync(join(base, v, 'bin', 'initdb')))
        .sort((a, b) => Number(b) - Number(a))
    : [];
  if (versions[0]) return join(base, versions[0], 'bin');
  return execFileSync('pg_config', ['--bindir'], { encoding: 'utf8' }).trim();
}

/** A port nobody listens on right now (the server binds it a moment later; start retries on a clash). */
async function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const s = createServer();
    s.once('error', reject);
    s.listen(0, '127.0.0.1', () => {
      const address = s.address();
      const port = typeof address === 'object' && address ? address.port : 0;
      s.close(() => resolve(port));
    });
  });
}

const isRoot = () => process.getuid?.() === 0;

/** Creates and starts a cluster; call `destroy()` when done (e.g. in afterAll). */
export async function createPgCluster(): Promise<PgCluster> {
  const bin = postgresBinDir();
  const dir = mkdtempSync(join(tmpdir(), 'cg-pg-'));
  const data = join(dir, 'data');
  const logFile = join(dir, 'server.log');
  if (isRoot()) {
    const uid = Number(execFileSync('id', ['-u', 'postgres'], { encoding: 'utf8' }).trim());
    const gid = Number(execFileSync('id', ['-g', 'postgres'], { encoding: 'utf8' }).trim());
    chownSync(dir, uid, gid);
    chmodSync(dir, 0o700);
  }
  const command = (tool: string, args: string[]): [string, string[]] =>
    isRoot() ? ['runuser', ['-u', 'postgres', '--', join(bin, tool), ...args]] : [join(bin, tool), args];
  const failure = (tool: string, args: string[], code: number | null, output: string) => {
    const log = existsSync(logFile) ? readFileSync(logFile, 'utf8').slice(-2000) : '';
    return new Error(`${tool} ${args.join(' ')} failed (${code}): ${output}\n${log}`);
  };
  // Asynchronous, so that the gateway under test keeps serving while the server stops or starts.
  const run = (tool: string, args: string[]) =>
    new Promise<void>((resolve, reject) => {
      const [cmd, argv] = command(tool, args);
      const child = spawn(cmd, argv, { cwd: dir, stdio: ['ignore', 'pipe', 'pipe'] });
      let output = '';
      child.stdout.on('data', (d) => (output += d));
      child.stderr.on('data', (d) => (output += d));
      child.on('error', reject);
      child.on('close', (code) => (code === 0 ? resolve() : reject(failure(tool, args, code, output))));
    });
  // Synchronous, for the exit handler (no event loop left there).
  const runSync = (tool: string, args: string[]) => {
    const [cmd, argv] = command(tool, args);
    const r = spawnSync(cmd, argv, { encoding: 'utf8', cwd: dir });
    if (r.status !== 0) throw failure(tool, args, r.status, r.stderr || r.stdout);
  };

  let destroyed = false;
  let running = false;
  let port = 0;
  const destroy = () => {
    if (destroyed) return;
    destroyed = true;
    process.off('exit', destroy);
    if (existsSync(join(data, 'postmaster.pid'))) {
      try {
        runSync('pg_ctl', ['stop', '-D', data, '-m', 'immediate', '-w']);
      } catch {
        // Already down; the directory goes anyway.
      }
    }
    rmSync(dir, { recursive: true, force: true });
  };
  // Last resort when afterAll never runs (the worker is torn down): no cluster outlives us.
  process.on('exit', destroy);

  try {
    await run('initdb', ['-D', data, '-U', 'postgres', '--auth=trust', '--encoding=UTF8', '--locale=C', '--no-sync', '--no-instructions']);
    const start = async () => {
      const options = [
        `-p ${port}`,
        // The socket goes into our own directory: never into the shared server's.
        `-k ${dir}`,
        ...Object.entries(FAST_SETTINGS).map(([k, v]) => `-c ${k}=${v}`),
      ].join(' ');
      await run('pg_ctl', ['start', '-D', data, '-l', logFile, '-w', '-t', '60', '-o', options]);
      running = true;
    };
    for (let attempt = 1; ; attempt++) {
      port = await freePort();
      try {
        await start();
        break;
      } catch (error) {
        // Another process may have taken the port between freePort and the bind.
        if (attempt >= 3) throw error;
      }
    }
    const urlOf = (database: string) => `postgresql://postgres@127.0.0.1:${port}/${database}`;
    return {
      url: urlOf('postgres'),
      port,
      get running() {
        return running;
      },
      urlOf,
      async stop(mode = 'fast') {
        running = false;
        await run('pg_ctl', ['stop', '-D', data, '-m', mode, '-w', '-t', '60']);
      },
      start,
      async sql(text, values, url = urlOf('postgres')) {
        const client = new pg.Client({ connectionString: url });
        client.on('error', () => {}); // the server may be going down under it: a rejected query, not a crash
        await client.connect();
        try {
          return (await client.query(text, values)).rows;
        } finally {
          await client.end();
        }
      },
      destroy,
    };
  } catch (error) {
    destroy();
    throw error;
  }
}
