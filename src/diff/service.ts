import { z } from 'zod';
import type { Principal } from '../auth/principal.ts';
import type { Deps } from '../deps.ts';
import { findExternalRefs } from '../contracts/document.ts';
import { contractPath, getVersion, loadContractDocument } from '../contracts/versions.ts';
import { AccordError } from '../errors.ts';
import { assertDepth } from '../lib/yaml.ts';
import type { FlowEntry } from '../matrix/checks.ts';
import { policyDiffOptions } from '../matrix/policy.ts';
import { getMatrixDocument } from '../matrix/store.ts';
import { diffContracts } from './contract-diff.ts';
import { registrySource } from '../matrix/sources.ts';
import { diffMatrixEntries, keyedOperations } from './matrix-diff.ts';
import { mergeOpenApiDiff, runOpenApiDiff } from './openapi-diff.ts';
import type { DiffArtifacts } from './lines.ts';
import type { DiffResult } from './types.ts';

/** What can become of openapi-diff's second opinion. */
export const SECOND_OPINION_STATUSES = ['ok', 'failed', 'timeout', 'skipped'] as const;

/** What became of openapi-diff's second opinion: its outcome, and how many findings it added. */
export interface SecondOpinion {
  status: (typeof SECOND_OPINION_STATUSES)[number];
  durationMs?: number;
  error?: string;
  reason?: string;
  reported?: number;
}

/**
 * Accord's diff of two documents plus openapi-diff's second opinion within the configured
 * time budget.
 */
export async function diffWithSecondOpinion(deps: Pick<Deps, 'db' | 'registry' | 'clock' | 'config'>, base: unknown, revision: unknown): Promise<DiffResult & { openapiDiff: SecondOpinion }> {
  const result = diffContracts(base, revision, await policyDiffOptions(deps));
  return mergeOpenApiDiff(result, await runOpenApiDiff(base, revision, { timeoutMs: deps.config.openapiDiffTimeoutMs }));
}

/** The two registered versions a diff compares (API query and console form). */
export const VersionPair = z.object({
  from: z.string({ error: 'required' }).min(1, 'required').meta({ description: 'Base version' }),
  to: z.string({ error: 'required' }).min(1, 'required').meta({ description: 'Revision version' }),
});

/** Two registered versions the caller can see and their parsed documents (404 for one it cannot see). */
async function loadVersionPair(deps: Deps, principal: Principal, partner: string, api: string, from: string, to: string) {
  const baseRow = await getVersion(deps, principal, partner, api, from);
  const revisionRow = await getVersion(deps, principal, partner, api, to);
  return { from, to, baseRow, revisionRow, base: await loadContractDocument(deps, baseRow), revision: await loadContractDocument(deps, revisionRow) };
}

/** The registry ref a reader names a version by (SARIF's artifact URI for registered versions). */
export function versionRef(partner: string, api: string, version: string): string {
  return `${partner}/${api}@${version}`;
}

/**
 * Diff of two registered versions the caller can see. With `sources`, also the two documents as
 * artifacts (registry ref and stored YAML), for renderings that point at lines (SARIF).
 */
export async function diffRegisteredVersions(deps: Deps, principal: Principal, partner: string, api: string, from: string, to: string, options: { sources?: boolean } = {}) {
  const pair = await loadVersionPair(deps, principal, partner, api, from, to);
  const result = await diffWithSecondOpinion(deps, pair.base, pair.revision);
  const artifact = async (version: string, row: { commit: string }) => ({ uri: versionRef(partner, api, version), text: await deps.registry.read(row.commit, contractPath(partner, api, version)) });
  const artifacts: DiffArtifacts | undefined = options.sources ? { base: await artifact(pair.from, pair.baseRow), revision: await artifact(pair.to, pair.revisionRow) } : undefined;
  return { partner, api, from: pair.from, to: pair.to, ...result, ...(artifacts ? { artifacts } : {}) };
}

/**
 * Diff of two registered versions the caller can see, with both parsed documents (for views
 * that show the changed fragments). openapi-diff's second opinion only when asked: it costs a
 * worker thread and hundreds of milliseconds.
 */
export async function compareRegisteredVersions(deps: Deps, principal: Principal, partner: string, api: string, from: string, to: string, options: { secondOpinion?: boolean } = {}) {
  const pair = await loadVersionPair(deps, principal, partner, api, from, to);
  const result: DiffResult & { openapiDiff?: SecondOpinion } = options.secondOpinion ? await diffWithSecondOpinion(deps, pair.base, pair.revision) : diffContracts(pair.base, pair.revision, await policyDiffOptions(deps));
  return { ...pair, result };
}

/** What POST /v1/diff's problem says when its body does not fit. */
export const POSTED_DOCUMENTS_PROBLEM = 'Post {"base": <OpenAPI document>, "revision": <OpenAPI document>} without external $refs';

/** Stateless diff of two posted documents; external $refs are refused, never fetched. */
export async function diffPostedDocuments(deps: Deps, base: object, revision: object) {
  const errors = [];
  for (const [name, doc] of [['base', base], ['revision', revision]] as const) {
    for (const e of findExternalRefs(doc)) errors.push({ ...e, location: `/${name}${e.location}` });
  }
  assertDepth(base);
  assertDepth(revision);
  if (errors.length > 0) throw new AccordError('invalid_document', POSTED_DOCUMENTS_PROBLEM, { errors });
  return diffWithSecondOpinion(deps, base, revision);
}

/** Diff of two versions of a control-matrix entry. */
export async function diffMatrixVersions(deps: Deps, flow: string, from: number, to: number): Promise<DiffResult & { flow: string; from: number; to: number }> {
  const base = await getMatrixDocument(deps, 'flow', flow, from);
  const revision = await getMatrixDocument(deps, 'flow', flow, to);
  const keyed = await keyedOperations(registrySource(deps), revision.entry as FlowEntry);
  return { flow, from, to, ...diffMatrixEntries(base.entry as FlowEntry, revision.entry as FlowEntry, { keyed }) };
}
