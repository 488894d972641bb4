import fs from 'node:fs/promises';
import { CliFailure } from './errors.ts';

/** The text of a file the user named; a file that cannot be read is an error (exit 3). */
export async function readInputFile(file: string): Promise<string> {
  try {
    return await fs.readFile(file, 'utf8');
  } catch (error) {
    throw new CliFailure(`Cannot read ${file}: ${(error as Error).message}`, 3);
  }
}

/** The media type a document is sent with, by its file extension: JSON, else YAML. */
export function contentTypeOf(file: string): string {
  return /\.json$/i.test(file) ? 'application/json' : 'application/yaml';
}

/** Whether `dir` is a folder (false when it does not exist). */
export function isDirectory(dir: string): Promise<boolean> {
  return fs.stat(dir).then((s) => s.isDirectory(), () => false);
}
