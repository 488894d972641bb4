import { createHash } from 'node:crypto';
import { createReadStream } from 'node:fs';
import fs from 'node:fs/promises';
import path from 'node:path';

/** What is at a path a backup or a restore is asked to write into. */
export type TargetState = 'missing' | 'empty' | 'not-empty' | 'not-a-directory';

/** Whether `dir` is missing, an empty directory, a directory with something in it, or no directory. */
export async function targetState(dir: string): Promise<TargetState> {
  const stat = await fs.lstat(dir).catch((error: NodeJS.ErrnoException) => {
    if (error.code === 'ENOENT') return undefined;
    throw error;
  });
  if (!stat) return 'missing';
  if (!stat.isDirectory()) return 'not-a-directory';
  return (await fs.readdir(dir)).length === 0 ? 'empty' : 'not-empty';
}

/** The SHA-256 of a file's bytes (hex) and its size, read as a stream. */
export async function hashFile(file: string): Promise<{ sha256: string; bytes: number }> {
  const hash = createHash('sha256');
  let bytes = 0;
  for await (const chunk of createReadStream(file)) {
    hash.update(chunk as Buffer);
    bytes += (chunk as Buffer).length;
  }
  return { sha256: hash.digest('hex'), bytes };
}

/** fsyncs one file or directory. */
export async function fsyncPath(target: string): Promise<void> {
  const handle = await fs.open(target, 'r');
  try {
    await handle.sync();
  } finally {
    await handle.close();
  }
}

/** fsyncs every file and directory under `dir`, then `dir` itself: what was written survives a power cut. */
export async function fsyncTree(dir: string): Promise<void> {
  for (const entry of await fs.readdir(dir, { withFileTypes: true })) {
    const full = path.join(dir, entry.name);
    if (entry.isDirectory()) await fsyncTree(full);
    else if (entry.isFile()) await fsyncPath(full);
  }
  await fsyncPath(dir);
}

/** Writes a new file (never overwriting one) with `mode`, fsynced before it returns. */
export async function writeNewFile(file: string, data: string | Buffer, mode: number): Promise<void> {
  const handle = await fs.open(file, 'wx', mode);
  try {
    await handle.writeFile(data);
    await handle.sync();
  } finally {
    await handle.close();
  }
  // open()'s mode is filtered by the umask; the result must be exactly `mode`.
  await fs.chmod(file, mode);
}
