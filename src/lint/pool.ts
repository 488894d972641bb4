import { Worker } from 'node:worker_threads';
import { AccordError } from '../errors.ts';
import { LintCache, lintCacheKey, withSeverities } from './cache.ts';
import { RulesetError, type LintFinding, type RulesetFinding, type RulesetSource } from './findings.ts';

/**
 * The service's way to lint: one worker thread runs Spectral (loaded there on first use, ~0.7 s
 * and ~15 MB), so a large contract's seconds of CPU never stall the exchange or other requests.
 * Results are cached here, on the service's side, so a cached answer needs neither the worker
 * nor the document's text.
 */

/** A lint without an answer after this long is abandoned and the worker restarted (503). */
const LINT_TIMEOUT_MS = 120_000;
/** The worker's heap bound (a multi-megabyte contract with many examples needs hundreds of MB). */
const WORKER_HEAP_MB = 1024;

type Reply = { id: number; findings?: unknown; error?: string; rulesetFindings?: RulesetFinding[] };
interface Pending {
  resolve: (reply: Reply) => void;
  reject: (error: Error) => void;
  timer: NodeJS.Timeout;
}

let worker: Worker | undefined;
let nextId = 1;
const pending = new Map<number, Pending>();
const results = new LintCache();

/** Requests the worker answered with a Spectral run or a ruleset check (cache misses), for tests and the benchmark. */
export const workerRequests = { count: 0 };

function failAll(error: Error): void {
  for (const [id, p] of pending) {
    clearTimeout(p.timer);
    p.reject(error);
    pending.delete(id);
  }
}

function started(): Worker {
  if (worker) return worker;
  const w = new Worker(new URL('./lint.worker.mjs', import.meta.url), { resourceLimits: { maxOldGenerationSizeMb: WORKER_HEAP_MB } });
  // An idle worker does not keep the process alive.
  w.unref();
  w.on('message', (reply: Reply) => {
    const p = pending.get(reply.id);
    if (!p) return;
    pending.delete(reply.id);
    clearTimeout(p.timer);
    p.resolve(reply);
  });
  w.on('error', (error) => {
    if (worker === w) worker = undefined;
    failAll(new AccordError('unavailable', `The lint worker failed: ${error.message}`));
  });
  w.on('exit', () => {
    if (worker === w) worker = undefined;
    failAll(new AccordError('unavailable', 'The lint worker stopped; try again'));
  });
  worker = w;
  return w;
}

function ask(request: Record<string, unknown>): Promise<Reply> {
  const w = started();
  const id = nextId++;
  workerRequests.count++;
  return new Promise<Reply>((resolve, reject) => {
    const timer = setTimeout(() => {
      pending.delete(id);
      reject(new AccordError('unavailable', `Linting took longer than ${LINT_TIMEOUT_MS / 1000} s and was stopped`));
      // Whatever it was doing is abandoned with it: the next request starts a fresh worker.
      if (worker === w) worker = undefined;
      void w.terminate();
    }, LINT_TIMEOUT_MS);
    pending.set(id, { resolve, reject, timer });
    w.ref();
    w.postMessage({ id, ...request });
  }).finally(() => {
    if (pending.size === 0) w.unref();
  });
}

function settled(reply: Reply): unknown {
  if (reply.rulesetFindings) throw new RulesetError(reply.rulesetFindings);
  if (reply.error !== undefined) throw new Error(`lint failed: ${reply.error}`);
  return reply.findings;
}

/** What to lint: the text (or a stored version's sha256 and a loader), how, and with what. */
export interface LintRequest {
  text: string | { sha256: string; load: () => Promise<string> };
  format: 'yaml' | 'json';
  source: string;
  ruleset: RulesetSource;
  coveredOperationIds: ReadonlySet<string>;
  errorsAsWarnings?: boolean;
}

/**
 * Lints in the worker, answering from the cache when it can. Throws a RulesetError when the
 * ruleset does not build or run.
 */
export async function lint(request: LintRequest): Promise<LintFinding[]> {
  const key = lintCacheKey({ content: typeof request.text === 'string' ? request.text : { sha256: request.text.sha256 }, format: request.format, source: request.source, rulesetKey: request.ruleset.key, coveredOperationIds: request.coveredOperationIds });
  let findings = results.get(key);
  if (!findings) {
    const text = typeof request.text === 'string' ? request.text : await request.text.load();
    findings = settled(await ask({ op: 'lint', text, format: request.format, source: request.source, ruleset: request.ruleset, covered: [...request.coveredOperationIds] })) as LintFinding[];
    results.set(key, findings);
  }
  return withSeverities(findings, request.errorsAsWarnings);
}

/** The findings of a parsed ruleset document, checked in the worker (none: it builds and runs). */
export async function checkRulesetData(data: unknown): Promise<RulesetFinding[]> {
  return settled(await ask({ op: 'check', data })) as RulesetFinding[];
}
