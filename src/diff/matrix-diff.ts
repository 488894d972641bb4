import semver from 'semver';
import { acceptsIdempotencyKey, isIdempotentMethod, operationsById } from '../contracts/operations.ts';
import type { ContractSource, FlowEntry } from '../matrix/checks.ts';
import { durationMs } from '../matrix/durations.ts';
import { summarise, type Change, type DiffResult, type Level } from './types.ts';

type Compensation = { operationId?: string; strategy?: string; approval?: string };

/** Strength of a compensation: an operation that undoes the step beats a strategy beats none. */
function strength(c: Compensation): number {
  if (c.operationId) return 3;
  if (c.strategy === 'mark-inactive' || c.strategy === 'reversal-event') return 2;
  return 1;
}

function describe(c: Compensation): string {
  return c.operationId ?? c.strategy ?? 'none';
}

/**
 * Classifies the changes between two versions of one control-matrix entry the way contract
 * changes are classified: what weakens a guarantee partners or operators rely on is breaking.
 * @param keyed whether an operation takes an Idempotency-Key (or is HTTP-idempotent), from the
 *   contract; when unknown, retries added to a step are a warning to review
 */
export function diffMatrixEntries(base: FlowEntry, revision: FlowEntry, options: { keyed?: (operationId: string) => boolean | undefined } = {}): DiffResult {
  const changes: Change[] = [];
  const add = (rule: string, level: Level, location: string, message: string) => changes.push({ rule, level, direction: 'request', location, message });
  const ms = durationMs;

  const bi = base.idempotency;
  const ri = revision.idempotency;
  if (ms(ri.dedupeWindow) < ms(bi.dedupeWindow)) add('matrix-dedupe-window-shortened', 'breaking', '/idempotency/dedupeWindow', `dedupe window shortened from ${bi.dedupeWindow} to ${ri.dedupeWindow}: late retries may now run twice`);
  else if (ms(ri.dedupeWindow) > ms(bi.dedupeWindow)) add('matrix-dedupe-window-lengthened', 'info', '/idempotency/dedupeWindow', `dedupe window lengthened from ${bi.dedupeWindow} to ${ri.dedupeWindow}`);
  if (bi.replayPolicy !== ri.replayPolicy) add('matrix-replay-policy-changed', 'breaking', '/idempotency/replayPolicy', `replay policy changed from ${bi.replayPolicy} to ${ri.replayPolicy}: retried requests get a different answer`);
  if (JSON.stringify(bi.keySource) !== JSON.stringify(ri.keySource)) add('matrix-key-source-changed', 'breaking', '/idempotency/keySource', 'idempotency key source changed: clients must send the key differently');
  if (JSON.stringify(bi.fingerprint) !== JSON.stringify(ri.fingerprint)) add('matrix-fingerprint-changed', 'warning', '/idempotency/fingerprint', 'request fingerprint changed: which retries count as the same request changes; needs review');
  if (JSON.stringify(bi.businessKeys) !== JSON.stringify(ri.businessKeys)) add('matrix-business-keys-changed', 'warning', '/idempotency/businessKeys', 'business keys changed; needs review');

  const baseSteps = new Map(base.steps.map((s) => [s.id, s]));
  revision.steps.forEach((step, i) => {
    const at = `/steps/${i}`;
    const before = baseSteps.get(step.id);
    if (!before) {
      add('matrix-step-added', 'info', at, `step ${step.id} (${step.operationId}) added`);
      return;
    }
    if (before.operationId !== step.operationId) add('matrix-step-operation-changed', 'warning', `${at}/operationId`, `step ${step.id} now calls ${step.operationId} instead of ${before.operationId}; needs review`);
    const cb = before.compensation as Compensation;
    const cr = step.compensation as Compensation;
    if (strength(cr) < strength(cb)) add(cr.strategy === 'none' ? 'matrix-compensation-removed' : 'matrix-compensation-weakened', 'breaking', `${at}/compensation`, `step ${step.id} compensation ${cr.strategy === 'none' ? 'removed' : 'weakened'}: ${describe(cb)} → ${describe(cr)}`);
    else if (describe(cb) !== describe(cr)) add('matrix-compensation-changed', strength(cr) > strength(cb) ? 'info' : 'warning', `${at}/compensation`, `step ${step.id} compensation changed: ${describe(cb)} → ${describe(cr)}`);
    // A person approving a compensation is a guarantee operators rely on: dropping it is breaking; adding one delays compensations, to review.
    const approvalBefore = cb.approval === 'required';
    const approvalAfter = cr.approval === 'required';
    if (approvalBefore && !approvalAfter) add('matrix-compensation-approval-removed', 'breaking', `${at}/compensation/approval`, `step ${step.id} compensation no longer waits for an operator's approval: it runs unreviewed`);
    else if (!approvalBefore && approvalAfter) add('matrix-compensation-approval-added', 'warning', `${at}/compensation/approval`, `step ${step.id} compensation now waits for an operator's approval (awaiting-approval) before it runs; needs review`);
    if (before.retry.maxAttempts <= 1 && step.retry.maxAttempts > 1) {
      const keyed = options.keyed?.(step.operationId);
      add('matrix-retries-added', keyed === false ? 'breaking' : keyed === true ? 'info' : 'warning', `${at}/retry/maxAttempts`, `step ${step.id} now retries up to ${step.retry.maxAttempts} times${keyed === false ? ` but ${step.operationId} is not keyed for idempotency: duplicates possible` : keyed === undefined ? '; check that the operation is keyed for idempotency' : ''}`);
    } else if (before.retry.maxAttempts !== step.retry.maxAttempts) add('matrix-retries-changed', 'info', `${at}/retry/maxAttempts`, `step ${step.id} attempts ${before.retry.maxAttempts} → ${step.retry.maxAttempts}`);
    if (before.timeout !== step.timeout) add('matrix-timeout-changed', ms(step.timeout) > ms(before.timeout) ? 'warning' : 'info', `${at}/timeout`, `step ${step.id} timeout ${before.timeout} → ${step.timeout}`);
  });
  const revIds = new Set(revision.steps.map((s) => s.id));
  base.steps.forEach((s, i) => {
    if (!revIds.has(s.id)) add('matrix-step-removed', 'warning', `/steps/${i}`, `step ${s.id} (${s.operationId}) removed; needs review`);
  });

  for (const metric of ['timeToAcknowledge', 'timeToFinalize', 'duplicateResolution', 'remediationResponse']) {
    const b = base.sla[metric]!;
    const r = revision.sla[metric]!;
    if (ms(r.target) > ms(b.target) || r.percentile < b.percentile) add('matrix-sla-loosened', 'breaking', `/sla/${metric}`, `${metric} loosened from p${b.percentile} ≤ ${b.target} to p${r.percentile} ≤ ${r.target}`);
    else if (ms(r.target) < ms(b.target) || r.percentile > b.percentile) add('matrix-sla-tightened', 'info', `/sla/${metric}`, `${metric} tightened from p${b.percentile} ≤ ${b.target} to p${r.percentile} ≤ ${r.target}`);
  }
  if (revision.sla.interventions.length < base.sla.interventions.length) add('matrix-intervention-removed', 'warning', '/sla/interventions', `${base.sla.interventions.length - revision.sla.interventions.length} intervention(s) removed; needs review`);
  else if (JSON.stringify(base.sla.interventions) !== JSON.stringify(revision.sla.interventions)) add('matrix-interventions-changed', 'warning', '/sla/interventions', 'interventions changed; needs review');

  if (base.owner.team !== revision.owner.team) add('matrix-owner-changed', 'warning', '/owner/team', `owner changed from ${base.owner.team} to ${revision.owner.team}`);
  else if (base.owner.contact !== revision.owner.contact) add('matrix-owner-contact-changed', 'info', '/owner/contact', `owner contact changed to ${revision.owner.contact}`);
  const contacts = new Set(revision.escalation.map((e) => e.contact));
  base.escalation.forEach((e, i) => {
    if (!contacts.has(e.contact)) add('matrix-escalation-removed', 'breaking', `/escalation/${i}`, `escalation to ${e.contact} removed`);
  });
  for (const [mode, handling] of Object.entries(base.failureModes)) {
    const now = Object.hasOwn(revision.failureModes, mode) ? revision.failureModes[mode] : undefined;
    if (!now) add('matrix-failure-mode-removed', 'breaking', `/failureModes/${mode}`, `failure mode ${mode} no longer handled`);
    else if (now.action !== handling.action || now.compensation !== handling.compensation) add('matrix-failure-mode-changed', 'warning', `/failureModes/${mode}`, `${mode}: ${handling.action}/${handling.compensation} → ${now.action}/${now.compensation}; needs review`);
  }
  const fields = new Set(revision.observability.requiredFields);
  for (const f of base.observability.requiredFields) if (!fields.has(f)) add('matrix-observability-field-removed', 'warning', '/observability/requiredFields', `required field ${f} removed; needs review`);
  if (JSON.stringify(base.contract) !== JSON.stringify(revision.contract)) add('matrix-contract-changed', 'warning', '/contract', `governed contract changed to ${revision.contract.partner}/${revision.contract.api} ${revision.contract.versions}; needs review`);
  return summarise(changes);
}

/**
 * Whether each operation of the governed contract versions is keyed for idempotency (an
 * Idempotency-Key header or an HTTP-idempotent method) in every version that has it; undefined
 * when no governed version has the operation.
 */
export async function keyedOperations(source: ContractSource, entry: FlowEntry): Promise<(operationId: string) => boolean | undefined> {
  const docs = (await source.versions(entry.contract.partner, entry.contract.api)).filter((c) => semver.validRange(entry.contract.versions) && semver.satisfies(c.version, entry.contract.versions));
  const indexed = docs.map((c) => operationsById(c.doc));
  return (operationId) => {
    const ops = indexed.map((m) => m.get(operationId)).filter((o) => o !== undefined);
    if (ops.length === 0) return undefined;
    return ops.every((op) => acceptsIdempotencyKey(op) || isIdempotentMethod(op));
  };
}
