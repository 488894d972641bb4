import { Worker } from 'node:worker_threads';
import type { Change, DiffResult } from './types.ts';
import { summarise } from './types.ts';

interface Difference {
  type: 'breaking' | 'unclassified';
  code: string;
  action: string;
  source: string;
  locations: string[];
}

/** What openapi-diff said, or why it said nothing. */
export type OpenApiDiffOutcome =
  | { status: 'ok'; breaking: Difference[]; unclassified: Difference[]; nonBreaking: number; durationMs: number }
  | { status: 'failed'; error: string; durationMs: number }
  | { status: 'timeout'; durationMs: number }
  | { status: 'skipped'; reason: string };

/** At most this many openapi-diff workers at once; more requests skip the second opinion. */
const MAX_WORKERS = 2;
/** Above this combined size openapi-diff is not worth its minutes and gigabytes. */
const MAX_BYTES = 2 * 1024 * 1024;
let running = 0;

/** Whether a document declares OpenAPI 3.1 (or a later 3.x), which openapi-diff does not read. */
export function isOpenApi31(doc: unknown): boolean {
  const version = typeof doc === 'object' && doc !== null ? (doc as { openapi?: unknown }).openapi : undefined;
  return typeof version === 'string' && /^3\.([1-9]|\d{2,})(\.|$)/.test(version.trim());
}

/**
 * Runs openapi-diff in a worker thread with a time and heap budget; it is terminated when it
 * exceeds either (it can take minutes and gigabytes on large specs with cycles).
 */
export function runOpenApiDiff(base: unknown, revision: unknown, options: { timeoutMs: number; maxHeapMb?: number }): Promise<OpenApiDiffOutcome> {
  if (options.timeoutMs <= 0) return Promise.resolve({ status: 'skipped', reason: 'disabled' });
  // openapi-diff refuses OpenAPI 3.1 ("Unsupported OpenAPI version"): not running it is honest, failing is noise.
  if (isOpenApi31(base) || isOpenApi31(revision)) return Promise.resolve({ status: 'skipped', reason: 'openapi-3.1' });
  const baseJson = JSON.stringify(base);
  const revisionJson = JSON.stringify(revision);
  if (baseJson.length + revisionJson.length > MAX_BYTES) return Promise.resolve({ status: 'skipped', reason: `documents larger than ${MAX_BYTES / 1024 / 1024} MiB` });
  if (running >= MAX_WORKERS) return Promise.resolve({ status: 'skipped', reason: 'busy' });
  running++;
  const started = performance.now();
  const elapsed = () => Math.round(performance.now() - started);
  const worker = new Worker(new URL('./openapi-diff.worker.mjs', import.meta.url), {
    workerData: { base: baseJson, revision: revisionJson },
    resourceLimits: { maxOldGenerationSizeMb: options.maxHeapMb ?? 1024 },
    stdout: true,
    stderr: true,
  });
  worker.once('exit', () => running--);
  return new Promise<OpenApiDiffOutcome>((resolve) => {
    const timer = setTimeout(() => {
      resolve({ status: 'timeout', durationMs: elapsed() });
      void worker.terminate();
    }, options.timeoutMs);
    worker.once('message', (message: { status: 'ok' | 'failed'; error?: string; breaking?: Difference[]; unclassified?: Difference[]; nonBreaking?: number }) => {
      clearTimeout(timer);
      resolve(message.status === 'ok' ? { status: 'ok', breaking: message.breaking!, unclassified: message.unclassified!, nonBreaking: message.nonBreaking!, durationMs: elapsed() } : { status: 'failed', error: message.error!, durationMs: elapsed() });
      void worker.terminate();
    });
    worker.once('error', (error) => {
      clearTimeout(timer);
      resolve({ status: 'failed', error: error.message, durationMs: elapsed() });
    });
  });
}

const OPERATION = /^paths\.(\/.*?)(?:\.(get|put|post|delete|options|head|patch|trace)(?:\.|$)|$)/;

/**
 * Adds openapi-diff's breaking and unclassified findings that Accord's rules did not cover at
 * the same operation as `warning` changes ("needs review"): a second opinion never passes
 * silently, and never overrides Accord's verdict.
 */
export function mergeOpenApiDiff(result: DiffResult, outcome: OpenApiDiffOutcome): DiffResult & { openapiDiff: Omit<OpenApiDiffOutcome, 'breaking' | 'unclassified'> & { reported?: number } } {
  if (outcome.status !== 'ok') return { ...result, openapiDiff: outcome };
  const significant = result.changes.filter((c) => c.level !== 'info');
  const covered = new Set(significant.map((c) => `${c.method} ${c.path}`));
  const coveredPaths = new Set(significant.map((c) => c.path));
  const extra: Change[] = [];
  const seen = new Set<string>();
  for (const d of [...outcome.breaking, ...outcome.unclassified]) {
    const location = d.locations[0] ?? '';
    const m = OPERATION.exec(location);
    const method = m?.[2]?.toUpperCase();
    const path = m?.[1];
    if (method ? covered.has(`${method} ${path}`) : path !== undefined && coveredPaths.has(path)) continue;
    const id = `${d.code}|${location}`;
    if (seen.has(id)) continue;
    seen.add(id);
    extra.push({
      rule: `openapi-diff/${d.code}`,
      level: 'warning',
      direction: location.includes('.responses.') ? 'response' : 'request',
      ...(method ? { method } : {}),
      ...(path ? { path } : {}),
      location: `openapi-diff:${location}`,
      message: `openapi-diff reports a ${d.type} change (${d.code}) at ${location} that Accord's rules do not classify; needs review`,
    });
  }
  const { breaking, unclassified, ...rest } = outcome;
  void breaking;
  void unclassified;
  return { ...summarise([...result.changes, ...extra]), openapiDiff: { ...rest, reported: extra.length } };
}
