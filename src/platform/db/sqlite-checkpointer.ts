import { createRequire } from 'node:module';
import { Worker } from 'node:worker_threads';

// SQLite's automatic checkpoint runs inside the commit that takes the WAL past wal_autocheckpoint
// pages: that commit copies pages into the database file and fsyncs it, blocking the event loop of a
// hub whose one writing connection is synchronous (better-sqlite3). A PASSIVE checkpoint from a second
// connection in a worker thread does that work off the main thread, without blocking the writer or the
// readers; the writer then starts the WAL over on its own. The main connection keeps a high automatic
// checkpoint as a backstop should the worker fall behind.

/** WAL pages after which the writing connection checkpoints by itself (about 40 MB). */
export const BACKSTOP_AUTOCHECKPOINT_PAGES = 10_000;

const WORKER_SOURCE = `
const { parentPort, workerData } = require('node:worker_threads');
const Database = require(workerData.driver);
const db = new Database(workerData.file);
db.pragma('busy_timeout = 1000');
const timer = setInterval(() => {
  try { db.pragma('wal_checkpoint(PASSIVE)'); }
  catch (err) { parentPort.postMessage({ error: String(err && err.message || err) }); }
}, workerData.everyMs);
parentPort.on('message', () => { clearInterval(timer); db.close(); parentPort.close(); });
`;

export interface Checkpointer {
  stop(): Promise<void>;
}

export function startSqliteCheckpointer(file: string, everyMs = 500, onError: (message: string) => void = () => undefined): Checkpointer {
  const driver = createRequire(import.meta.url).resolve('better-sqlite3');
  const worker = new Worker(WORKER_SOURCE, { eval: true, workerData: { file, driver, everyMs } });
  worker.unref(); // never what keeps a short command (migrate, users …) alive
  worker.on('message', (m: { error?: string }) => m.error && onError(m.error));
  worker.on('error', (err) => onError(err.message));
  const exited = new Promise<void>((resolve) => worker.once('exit', () => resolve()));
  return {
    async stop() {
      worker.ref(); // waiting for its exit must keep the event loop alive
      worker.postMessage('stop');
      await exited;
    },
  };
}
