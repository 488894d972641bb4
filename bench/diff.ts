import { spawn } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';

interface Outcome {
  ok: boolean;
  ms: number;
  maxRssKb: number;
  detail: string;
}

/** Runs one side in a child process with a wall-clock cap, polling its peak RSS from /proc. */
function runChild(which: 'accord' | 'accord-10mb' | 'openapi-diff', capMs: number): Promise<Outcome | { timedOut: true; peakKb: number }> {
  return new Promise((resolve) => {
    const child = spawn(process.execPath, ['--import', 'tsx', '--max-old-space-size=16384', path.resolve(import.meta.dirname, 'diff-child.ts'), which], { stdio: ['ignore', 'pipe', 'inherit'] });
    let out = '';
    let peakKb = 0;
    child.stdout.on('data', (d) => (out += d));
    const poll = setInterval(() => {
      try {
        const hwm = /VmHWM:\s+(\d+) kB/.exec(fs.readFileSync(`/proc/${child.pid}/status`, 'utf8'));
        if (hwm) peakKb = Math.max(peakKb, Number(hwm[1]));
      } catch {
        // the process has exited
      }
    }, 250);
    const cap = setTimeout(() => child.kill('SIGKILL'), capMs);
    child.on('close', () => {
      clearInterval(poll);
      clearTimeout(cap);
      const line = out.trim().split('\n').pop();
      resolve(line ? (JSON.parse(line) as Outcome) : { timedOut: true, peakKb });
    });
  });
}

function describe(name: string, r: Outcome | { timedOut: true; peakKb: number }, capMs: number): string {
  if ('timedOut' in r) return `${name}: did not finish within ${capMs / 1000} s (peak RSS ≥ ${(r.peakKb / 1024).toFixed(0)} MB when stopped)`;
  return `${name}: ${r.ok ? 'completed' : `failed (${r.detail})`} in ${(r.ms / 1000).toFixed(2)} s, peak RSS ${(r.maxRssKb / 1024).toFixed(0)} MB${r.ok ? ` — ${r.detail}` : ''}`;
}

/** Stripe base → revision and a 10 MB document: Accord (target ≤ 5 s, ≤ 1 GB RSS) and openapi-diff alone, capped at 120 s. */
export async function benchStripeDiff(): Promise<string[]> {
  const accord = await runChild('accord', 120_000);
  const large = await runChild('accord-10mb', 120_000);
  const openapiDiff = await runChild('openapi-diff', 120_000);
  return [
    describe('Accord diff of Stripe (target ≤ 5 s, ≤ 1 GB)', accord, 120_000),
    describe('Accord diff of a 10 MB document (Stripe ×6; target ≤ 5 s, ≤ 1 GB)', large, 120_000),
    describe('openapi-diff alone on Stripe', openapiDiff, 120_000),
  ];
}
