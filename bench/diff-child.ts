/**
 * One side of the Stripe diff benchmark, run in its own process so its time and peak memory
 * are its own: `accord` runs Accord's diff, `openapi-diff` runs openapi-diff alone.
 */
import fs from 'node:fs';
import path from 'node:path';
import openapiDiff from 'openapi-diff';
import { diffContracts } from '../src/diff/contract-diff.ts';

const dir = path.resolve(import.meta.dirname, '../../shared/corpus/large');
const base = fs.readFileSync(path.join(dir, 'stripe-base.json'), 'utf8');
const revision = fs.readFileSync(path.join(dir, 'stripe-revision.json'), 'utf8');
const which = process.argv[2];
const started = performance.now();
try {
  let detail: string;
  if (which === 'accord') {
    const result = diffContracts(JSON.parse(base), JSON.parse(revision));
    detail = `${result.summary.breaking} breaking, ${result.summary.warning} warning, ${result.summary.info} info`;
  } else {
    const outcome = await openapiDiff.diffSpecs({
      sourceSpec: { content: base, location: 'stripe-base.json', format: 'openapi3' },
      destinationSpec: { content: revision, location: 'stripe-revision.json', format: 'openapi3' },
    });
    detail = `${outcome.breakingDifferencesFound ? 'breaking' : 'no breaking'} differences`;
  }
  console.log(JSON.stringify({ ok: true, ms: performance.now() - started, maxRssKb: process.resourceUsage().maxRSS, detail }));
} catch (error) {
  console.log(JSON.stringify({ ok: false, ms: performance.now() - started, maxRssKb: process.resourceUsage().maxRSS, detail: String((error as Error).message).slice(0, 160) }));
}
