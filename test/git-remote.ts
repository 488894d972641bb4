import { execFileSync } from 'node:child_process';

/** Runs git in `dir` and returns what it printed. */
export function gitIn(dir: string, ...args: string[]): string {
  return execFileSync('git', args, { cwd: dir, encoding: 'utf8' });
}

/** Makes `dir` a new empty bare repository, as an operator would create the registry remote; returns it. */
export function initBareRemote(dir: string): string {
  gitIn(dir, 'init', '--quiet', '--bare', '--initial-branch=main');
  return dir;
}
