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

/**
 * Stripe made about 10 MB (compact JSON): six copies of its paths (under /copyN) and schemas (prefixed cN_,
 * `$ref`s rewritten), so a 10 MB document is diffed with the same shape of changes.
 */
function tripled(text: string): string {
  const doc = JSON.parse(text);
  const paths: Record<string, unknown> = {};
  const schemas: Record<string, unknown> = {};
  for (let n = 0; n < 6; n++) {
    const copy = JSON.parse(JSON.stringify({ paths: doc.paths, schemas: doc.components.schemas }).replaceAll('"#/components/schemas/', `"#/components/schemas/c${n}_`));
    for (const [k, v] of Object.entries(copy.paths)) paths[`/copy${n}${k}`] = v;
    for (const [k, v] of Object.entries(copy.schemas)) schemas[`c${n}_${k}`] = v;
  }
  return JSON.stringify({ ...doc, paths, components: { ...doc.components, schemas } });
}
const [b10, r10] = which === 'accord-10mb' ? [tripled(base), tripled(revision)] : ['', ''];
const started = performance.now();
try {
  let detail: string;
  if (which === 'accord' || which === 'accord-10mb') {
    const [b, r] = which === 'accord' ? [base, revision] : [b10, r10];
    const result = diffContracts(JSON.parse(b), JSON.parse(r));
    detail = `${result.summary.breaking} breaking, ${result.summary.warning} warning, ${result.summary.info} info${which === 'accord' ? '' : ` (${(b.length / 1e6).toFixed(1)} MB → ${(r.length / 1e6).toFixed(1)} MB)`}`;
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
