import { spawn, type ChildProcess } from 'node:child_process';
import os from 'node:os';
import path from 'node:path';

const REPO_ROOT = path.resolve(import.meta.dirname, '..');

/** A real `accord serve` process and the URL it listens on. */
export interface ServeProcess {
  child: ChildProcess;
  url: string;
}

/**
 * Starts `accord serve` in its own process with `env` (and nothing else of this process's
 * environment but PATH; HOME is the temp dir), on a free port unless `env` names one; resolves
 * once it prints its listening line. Its output is read to the end, so it never blocks on a full
 * pipe; a process that exits first rejects with what it printed.
 */
export function startServeProcess(env: Record<string, string>): Promise<ServeProcess> {
  const child = spawn(process.execPath, [path.join(REPO_ROOT, 'bin/accord.js'), 'serve'], {
    env: { PATH: process.env.PATH ?? '', HOME: os.tmpdir(), PORT: '0', ...env },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  return new Promise((resolve, reject) => {
    let out = '';
    let listening = false;
    child.stdout!.on('data', (chunk: Buffer) => {
      if (listening) return;
      out += chunk.toString();
      const m = /Accord listening on (http:\/\/\S+)/.exec(out);
      listening = m !== null;
      if (m) resolve({ child, url: m[1]! });
    });
    child.stderr!.on('data', (chunk: Buffer) => {
      if (!listening) out += chunk.toString();
    });
    child.once('exit', (code, signal) => reject(new Error(`accord serve exited (${code ?? signal}) before listening:\n${out}`)));
  });
}
