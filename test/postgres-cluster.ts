import { execFile, spawn } from 'node:child_process';
import fs from 'node:fs';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { promisify } from 'node:util';

const run = promisify(execFile);

const INSTALL_HINT = 'PostgreSQL is not installed: apt-get install -y postgresql';

export interface PostgresCluster {
  /** Superuser URL of the cluster's `postgres` database (trust auth on loopback). */
  adminUrl: string;
  /** Stops the server at once (no checkpoint: nothing in it is kept) and deletes its directory. */
  stop(): Promise<void>;
}

/** The directory holding `initdb`, `pg_ctl` and `postgres`, or an error saying how to install them. */
async function findBinDir(): Promise<string> {
  let bindir: string;
  try {
    bindir = (await run('pg_config', ['--bindir'])).stdout.trim();
  } catch (error) {
    throw new Error(`${INSTALL_HINT} (tried \`pg_config --bindir\`: ${(error as Error).message.split('\n')[0]})`);
  }
  // Debian's libpq-dev ships pg_config alone, so the server binaries may still be missing.
  for (const binary of ['initdb', 'pg_ctl', 'postgres']) {
    if (!fs.existsSync(path.join(bindir, binary))) {
      throw new Error(`${INSTALL_HINT} (\`pg_config --bindir\` says ${bindir}, which has no ${binary})`);
    }
  }
  return bindir;
}

/** A port nobody listens on right now (the kernel picks it); another process may still take it first. */
async function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = net.createServer();
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => {
      const { port } = server.address() as net.AddressInfo;
      server.close(() => resolve(port));
    });
  });
}

/**
 * Runs a PostgreSQL binary as the cluster's owner: PostgreSQL refuses to run as root, so root
 * runs it as the `postgres` system user; anyone else runs it as themselves.
 */
function runAsOwner(asPostgres: boolean, dir: string, binary: string, args: string[]) {
  const [file, argv] = asPostgres ? ['runuser', ['-u', 'postgres', '--', binary, ...args]] : [binary, args];
  // cwd inside the cluster directory: the postgres user may not be allowed into ours.
  return run(file, argv, { cwd: dir, env: { ...process.env, LC_ALL: 'C' } });
}

/** stdout and stderr of a failed child process, for an error message. */
function outputOf(error: unknown): string {
  const e = error as { stdout?: string; stderr?: string; message: string };
  return [e.message, e.stdout, e.stderr].filter(Boolean).join('\n').trim();
}

/**
 * Starts a throwaway PostgreSQL cluster from the installed binaries (`pg_config --bindir`) in a
 * fresh temp directory, listening on 127.0.0.1 on a free port, with C collation so text sorts
 * byte-wise as it does in SQLite, and durability switched off because nothing in it is kept.
 */
export async function startPostgresCluster(): Promise<PostgresCluster> {
  const bindir = await findBinDir();
  const asPostgres = process.getuid?.() === 0;
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'accord-pg-'));
  const dataDir = path.join(dir, 'data');
  const logFile = path.join(dir, 'postgres.log');
  const pgCtl = path.join(bindir, 'pg_ctl');
  const remove = () => fs.rmSync(dir, { recursive: true, force: true });
  try {
    if (asPostgres) {
      await run('chown', ['postgres:', dir]).catch((error: unknown) => {
        throw new Error(`running as root, PostgreSQL needs the \`postgres\` system user to own its directory: ${outputOf(error)}`);
      });
    }
    await runAsOwner(asPostgres, dir, path.join(bindir, 'initdb'), ['-D', dataDir, '-A', 'trust', '-U', 'accord', '-E', 'UTF8', '--locale=C', '--no-sync', '--no-instructions']).catch((error: unknown) => {
      throw new Error(`initdb failed: ${outputOf(error)}`);
    });
    const port = await startServer(asPostgres, dir, pgCtl, dataDir, logFile);
    const stopArgs = ['-D', dataDir, '-m', 'immediate', 'stop'];
    const watchdog = startWatchdog(dir, asPostgres ? ['runuser', '-u', 'postgres', '--', pgCtl, ...stopArgs] : [pgCtl, ...stopArgs]);
    let stopped = false;
    return {
      adminUrl: `postgres://accord@127.0.0.1:${port}/postgres`,
      async stop() {
        if (stopped) return;
        stopped = true;
        watchdog.kill();
        try {
          await runAsOwner(asPostgres, dir, pgCtl, stopArgs);
        } finally {
          remove();
        }
      },
    };
  } catch (error) {
    remove();
    throw error;
  }
}

/**
 * A detached shell that stops the cluster and deletes its directory once this process is gone:
 * `pg_ctl start` leaves the server running on its own, so a test run that crashes or is killed
 * before its teardown would otherwise leave it behind.
 */
function startWatchdog(dir: string, stopCommand: string[]) {
  const script = 'while kill -0 "$1" 2>/dev/null; do sleep 1; done; dir=$2; shift 2; "$@" >/dev/null 2>&1; rm -rf "$dir"';
  const child = spawn('sh', ['-c', script, 'accord-pg-watchdog', String(process.pid), dir, ...stopCommand], { cwd: '/', detached: true, stdio: 'ignore' });
  child.unref();
  return child;
}

/** `pg_ctl start` on a free port, trying another port when one was taken between probe and bind. */
async function startServer(asPostgres: boolean, dir: string, pgCtl: string, dataDir: string, logFile: string): Promise<number> {
  for (let attempt = 1; ; attempt++) {
    const port = await freePort();
    const options = `-h 127.0.0.1 -p ${port} -k '${dir}' -c fsync=off -c full_page_writes=off -c max_connections=300`;
    try {
      await runAsOwner(asPostgres, dir, pgCtl, ['-D', dataDir, '-o', options, '-w', '-l', logFile, 'start']);
      return port;
    } catch (error) {
      const log = fs.existsSync(logFile) ? fs.readFileSync(logFile, 'utf8') : '';
      if (attempt < 3 && /could not bind|Address already in use/i.test(log)) continue;
      throw new Error(`pg_ctl start failed: ${outputOf(error)}\n--- ${logFile} ---\n${log.slice(-4000)}`);
    }
  }
}
