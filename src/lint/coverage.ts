import semver from 'semver';
import { flowsCovering } from '../changes/changes.ts';
import type { FlowEntry } from '../matrix/checks.ts';

/**
 * The operationIds the control matrix covers for one contract version: every step and every
 * compensation of the flows whose `contract` (partner or `*`, api, semver range) matches it —
 * the same matching the gate's control-matrix rule uses.
 */
export function coveredOperationIds(flows: FlowEntry[], partner: string, api: string, version: string): Set<string> {
  if (!semver.valid(version)) return new Set();
  const matching = flowsCovering(flows.map((entry) => ({ entry })), partner, api, version, new Set());
  return new Set(matching.flatMap((f) => f.steps.flatMap((s) => [s.operationId, ...(s.compensation.operationId ? [s.compensation.operationId] : [])])));
}
