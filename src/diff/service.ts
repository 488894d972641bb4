import type { Principal } from '../auth/principal.ts';
import type { Deps } from '../context.ts';
import { findExternalRefs } from '../contracts/document.ts';
import { getVersion, loadContractDocument } from '../contracts/versions.ts';
import { AccordError } from '../errors.ts';
import { assertDepth } from '../lib/yaml.ts';
import type { FlowEntry } from '../matrix/checks.ts';
import { getMatrixDocument, policyDiffOptions } from '../matrix/store.ts';
import { diffContracts } from './contract-diff.ts';
import { registrySource } from '../matrix/sources.ts';
import { diffMatrixEntries, keyedOperations } from './matrix-diff.ts';
import { mergeOpenApiDiff, runOpenApiDiff } from './openapi-diff.ts';
import type { DiffResult } from './types.ts';

/**
 * Accord's diff of two documents plus openapi-diff's second opinion within the configured
 * time budget.
 */
export async function diffWithSecondOpinion(deps: Pick<Deps, 'db' | 'registry' | 'clock' | 'config'>, base: unknown, revision: unknown): Promise<DiffResult & { openapiDiff: unknown }> {
  const result = diffContracts(base, revision, await policyDiffOptions(deps));
  return mergeOpenApiDiff(result, await runOpenApiDiff(base, revision, { timeoutMs: deps.config.openapiDiffTimeoutMs }));
}

/** Diff of two registered versions the caller can see. */
export async function diffRegisteredVersions(deps: Deps, principal: Principal, partner: string, api: string, from: string | undefined, to: string | undefined) {
  if (!from || !to) throw new AccordError('bad_request', 'Pass both ?from= and ?to= versions', { errors: [{ location: from ? 'to' : 'from', message: 'required' }] });
  const base = getVersion(deps, principal, partner, api, from);
  const revision = getVersion(deps, principal, partner, api, to);
  const result = await diffWithSecondOpinion(deps, await loadContractDocument(deps, base), await loadContractDocument(deps, revision));
  return { partner, api, from, to, ...result };
}

/** Stateless diff of two posted documents (objects); external $refs are refused, never fetched. */
export async function diffPostedDocuments(deps: Deps, base: unknown, revision: unknown) {
  const errors = [];
  for (const [name, doc] of [['base', base], ['revision', revision]] as const) {
    if (typeof doc !== 'object' || doc === null || Array.isArray(doc)) errors.push({ location: `/${name}`, message: 'must be an OpenAPI document (object)' });
    else for (const e of findExternalRefs(doc)) errors.push({ ...e, location: `/${name}${e.location}` });
  }
  assertDepth(base);
  assertDepth(revision);
  if (errors.length > 0) throw new AccordError('invalid_document', 'Post {"base": <OpenAPI document>, "revision": <OpenAPI document>} without external $refs', { errors });
  return diffWithSecondOpinion(deps, base, revision);
}

/** Diff of two versions of a control-matrix entry. */
export async function diffMatrixVersions(deps: Deps, flow: string, from: number, to: number): Promise<DiffResult & { flow: string; from: number; to: number }> {
  const base = await getMatrixDocument(deps, 'flow', flow, from);
  const revision = await getMatrixDocument(deps, 'flow', flow, to);
  const keyed = await keyedOperations(registrySource(deps), revision.entry as FlowEntry);
  return { flow, from, to, ...diffMatrixEntries(base.entry as FlowEntry, revision.entry as FlowEntry, { keyed }) };
}
