import { parentPort } from 'node:worker_threads';
import { checkRuleset, usableRuleset } from './check.ts';
import { RulesetError, type RulesetSource } from './findings.ts';
import { lintDocument } from './linter.ts';

/**
 * The lint worker's side (loaded by lint.worker.mjs): Spectral runs here, off the service's
 * event loop, one request after another as they arrive. Rulesets arrive as data and are built
 * once per key; results are cached here too.
 */

/** A request from the service. */
export type WorkerRequest =
  | { id: number; op: 'lint'; text: string; format: 'yaml' | 'json'; source: string; ruleset: RulesetSource; covered: string[] }
  | { id: number; op: 'check'; data: unknown };

async function answer(request: WorkerRequest): Promise<unknown> {
  if (request.op === 'check') return { id: request.id, findings: await checkRuleset(request.data) };
  const ruleset = await usableRuleset(request.ruleset.key, request.ruleset.name, () => request.ruleset.data);
  const findings = await lintDocument({ text: request.text, format: request.format, source: request.source, ruleset, coveredOperationIds: new Set(request.covered) });
  return { id: request.id, findings };
}

parentPort?.on('message', (request: WorkerRequest) => {
  answer(request).then(
    (reply) => parentPort!.postMessage(reply),
    (error: unknown) =>
      parentPort!.postMessage({ id: request.id, error: (error as Error).message ?? String(error), ...(error instanceof RulesetError ? { rulesetFindings: error.findings } : {}) }),
  );
});
