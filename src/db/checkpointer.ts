import { Worker } from 'node:worker_threads';
import type { Logger } from 'pino';
import type Database from 'better-sqlite3';

/** WAL pages the request thread lets accumulate before it checkpoints itself (a backstop, ≈ 80 MB). */
const BACKSTOP_PAGES = 20_000;

/**
 * Moves WAL checkpoints off the request thread: a worker thread with its own connection runs a
 * PASSIVE checkpoint every `intervalMs` (it never blocks writers), and the request thread's
 * automatic checkpoint is raised to a backstop it only reaches if the worker falls behind.
 * With SQLite's default (a checkpoint inside the commit that crosses 1,000 pages) every few
 * hundred exchange requests one of them paid for copying and fsyncing the database file.
 */
export function startCheckpointer(sqlite: Database.Database, file: string, logger: Logger, intervalMs = 200): { stop(): Promise<void> } {
  const worker = new Worker(new URL('./checkpoint.worker.mjs', import.meta.url), { workerData: { file, intervalMs } });
  worker.unref();
  sqlite.pragma(`wal_autocheckpoint = ${BACKSTOP_PAGES}`);
  sqlite.pragma(`journal_size_limit = ${64 * 1024 * 1024}`);
  let exited = false;
  worker.once('exit', () => (exited = true));
  let stopping: Promise<void> | undefined;
  let failures = 0;
  worker.on('message', (message: { error?: string }) => {
    // Busy or locked now and then is normal; say so once, not every 200 ms.
    if (message.error && failures++ === 0) logger.warn({ error: message.error }, 'WAL checkpoint failed; the request thread checkpoints as a backstop');
  });
  worker.on('error', (error) => logger.error({ err: error }, 'WAL checkpoint worker stopped; the request thread checkpoints as a backstop'));
  return {
    // Once, and at once when the worker is already gone (it failed): a dead worker answers nothing.
    stop() {
      stopping ??= exited
        ? Promise.resolve()
        : new Promise<void>((resolve) => {
            worker.once('message', () => resolve());
            worker.once('exit', () => resolve());
            worker.postMessage('stop');
          }).then(async () => {
            await worker.terminate();
          });
      return stopping;
    },
  };
}
