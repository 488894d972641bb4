/**
 * The CLI as a user starts it (issue 19): whole processes of the compiled CLI, `node
 * bin/accord.js` on dist/ (built first if stale): `accord --help` (target ≤ 300 ms median) and
 * `accord diff` on the Stripe pair, openapi-diff's second opinion included (target ≤ 2 s).
 */
import { spawn, spawnSync } from 'node:child_process';
import path from 'node:path';
import { median, percentile } from './util.ts';

const ROOT = path.resolve(import.meta.dirname, '..');
const BIN = path.join(ROOT, 'bin/accord.js');
const STRIPE = path.resolve(ROOT, '../shared/corpus/large');

/** One run of the CLI: its wall-clock time from spawn to exit, and its exit code. */
function timeCli(args: string[]): Promise<{ ms: number; code: number | null }> {
  return new Promise((resolve, reject) => {
    const started = performance.now();
    const child = spawn(process.execPath, [BIN, ...args], { stdio: 'ignore', cwd: ROOT });
    child.on('error', reject);
    child.on('close', (code) => resolve({ ms: performance.now() - started, code }));
  });
}

async function series(args: string[], runs: number, expectCode: number): Promise<number[]> {
  const times: number[] = [];
  for (let i = 0; i < runs; i++) {
    const { ms, code } = await timeCli(args);
    if (code !== expectCode) throw new Error(`accord ${args.join(' ')} exited ${code}, expected ${expectCode}`);
    times.push(ms);
  }
  return times;
}

export async function benchCli(): Promise<string[]> {
  const build = spawnSync(process.execPath, [path.join(ROOT, 'scripts/build.mjs'), '--if-stale'], { stdio: 'inherit' });
  if (build.status !== 0) throw new Error('npm run build failed');
  await series(['--help'], 2, 0); // warm the file cache
  const help = await series(['--help'], 20, 0);
  const version = await series(['--version'], 15, 0);
  const diff = await series(['diff', path.join(STRIPE, 'stripe-base.json'), path.join(STRIPE, 'stripe-revision.json')], 5, 1);
  const ms = (v: number) => `${v.toFixed(0)} ms`;
  return [
    `accord --help, whole process (target ≤ 300 ms median): median ${ms(median(help))}, p95 ${ms(percentile(help, 95))} over ${help.length} runs`,
    `accord --version, whole process: median ${ms(median(version))}, p95 ${ms(percentile(version, 95))} over ${version.length} runs`,
    `accord diff on the Stripe pair, whole process with openapi-diff (target ≤ 2 s): median ${(median(diff) / 1000).toFixed(2)} s, max ${(Math.max(...diff) / 1000).toFixed(2)} s over ${diff.length} runs`,
  ];
}
