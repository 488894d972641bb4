import type { Change, DiffResult } from '../diff/types.ts';
import type { FlowEntry } from '../matrix/checks.ts';
import { changeAuthors, countedApprovers, sameActor } from '../changes/separation.ts';
import type { FoundAfterReview } from '../changes/snapshot.ts';
import type { LintFacts } from '../lint/findings.ts';

/**
 * The release gate as a pure function of stored facts: the same facts always give the same
 * verdict, so every stored decision can be re-derived from its inputs.
 */

export type Verdict = 'pass' | 'fail' | 'pending';
export type ReasonStatus = 'met' | 'pending' | 'failed';

export interface Reason {
  rule: string;
  status: ReasonStatus;
  message: string;
  howToFix: string;
}

/** Everything the gate looks at, as stored with each decision. */
export interface GateFacts {
  now: string;
  /** `registeredBy`: who registered the version (absent in decisions stored before it was recorded). */
  target: { partner: string; api: string; version: string; environment: string; state: string; sha256: string; registeredBy?: string };
  change: {
    id: string;
    /** The diff hash of the change's snapshot (re-stamped when findings were found after review); reviews and acknowledgements are bound to it. */
    diffHash: string;
    /** The content and base version the change's diff was taken for (absent in decisions stored before ADR 0022, which compared diff hashes). */
    contentSha256?: string;
    baseVersion?: string | null;
    /** Breaking findings a newer diff engine found after the change was reviewed, appended to its snapshot (absent when none). */
    foundAfterReview?: FoundAfterReview[];
    createdBy: string;
    createdByToken: string;
    requiredApprovals: number;
    requiredAcks: string[];
    /** Why each of requiredAcks is asked: what the change touches of what it uses (absent before partner-scoped impact). */
    askedBecause?: Array<{ partner: string; reason: string }>;
    requiredEvidence: string[];
  } | null;
  diff: { base: string | null; hash: string; summary: DiffResult['summary']; bump: DiffResult['bump']; changes: Array<Pick<Change, 'rule' | 'level' | 'method' | 'path' | 'operationId' | 'message'>> };
  reviews: Array<{ reviewer: string; reviewerToken: string; decision: string; diffHash: string; comment: string }>;
  acks: Array<{ partner: string; diffHash: string }>;
  evidence: Array<{ id: string; kind: string; result: string; sha256: string; uri: string; producedAt: string; expiresAt: string | null; createdAt: string }>;
  flows: Array<Pick<FlowEntry, 'flow' | 'owner' | 'steps' | 'observability' | 'sla' | 'escalation'> & { idempotency: { replayPolicy: string; dedupeWindow: string } }>;
  changedOperations: string[];
  freezes: Array<{ id: string; reason: string; source: string }>;
  previousRelease: string | null;
  /** Open control-matrix proposals of flows covering the release (absent in decisions stored before matrix change control). */
  matrixProposals?: Array<{ flow: string; version: number; baseVersion: number | null; createdBy: string }>;
  /** The style rules' findings for the target (absent in decisions stored before the `lint` rule). */
  lint?: LintFacts;
  /** Evidence the policy requires Accord itself to have produced for the target environment (absent when it requires none, and in decisions stored before). */
  accordEvidence?: AccordEvidenceFacts;
}

/** The policy's `accordEvidence` kinds for the environment, and the newest Accord-produced records of them (any environment, any content). */
export interface AccordEvidenceFacts {
  environment: string;
  required: string[];
  records: Array<{ id: string; kind: string; result: string; sha256: string; uri: string; environment: string; producedAt: string; expiresAt: string | null; createdAt: string }>;
}

export interface GateAnswer {
  verdict: Verdict;
  reasons: Reason[];
  whatChanged: { base: string | null; bump: string; summary: DiffResult['summary']; breaking: string[] };
  detection: { flows: Array<{ flow: string; owner: string; requiredFields: string[]; metrics: string[]; interventions: string[] }>; evidence: string[] };
  recovery: { rollbackTo: string | null; compensations: Array<{ flow: string; step: string; compensation: string }>; rollbackPlan: string | null; runbook: string | null };
}

const SUNSET_RULES = new Set(['api-removed-before-sunset', 'api-path-removed-before-sunset', 'request-parameter-removed-before-sunset']);

/** Rule `lint`: failed on error-level style findings, met otherwise, the warnings named either way. */
function lintReason(lint: LintFacts, ref: string, add: (rule: string, status: ReasonStatus, message: string, howToFix?: string) => void): void {
  const warnings = lint.warnings === 0 ? 'no warnings' : `${lint.warnings} warning${lint.warnings === 1 ? '' : 's'} (${lint.warningRules.join(', ')})`;
  const older = lint.olderVersion ? '; an older version, so its errors count as warnings' : '';
  if (lint.errors === 0) return add('lint', 'met', `No style errors under the ${lint.ruleset}; ${warnings}${older}`);
  const listed = lint.findings.map((f) => `${f.rule} at ${f.location || '/'} (line ${f.line}, column ${f.column}): ${f.message}`).join('; ');
  add('lint', 'failed', `${lint.errors} style error${lint.errors === 1 ? '' : 's'} in ${ref} under the ${lint.ruleset}: ${listed}${lint.errors > lint.findings.length ? '; …' : ''}; ${warnings}`, 'Fix them and register a new version; `accord lint <file>` shows each with its line and column.');
}

/**
 * Whether the change request is for another diff than a release would ship now: other content,
 * or another base version (ADR 0022: a newer engine's findings on the same content do not make
 * it stale; breaking ones are found after review). Decisions stored before compared diff hashes.
 */
export function changeIsStale(facts: Pick<GateFacts, 'target' | 'change' | 'diff'>): boolean {
  const { change, target, diff } = facts;
  if (!change) return false;
  if (change.contentSha256 === undefined) return change.diffHash !== diff.hash;
  return change.contentSha256 !== target.sha256 || (change.baseVersion ?? null) !== diff.base;
}

/**
 * Rules `accord-evidence:<kind>`: the newest record Accord produced of each kind the policy
 * requires for the environment, bound to the content, passed and has not expired. Evidence a
 * caller posted never counts (it is not among the records).
 */
function accordEvidenceReasons(facts: AccordEvidenceFacts, target: GateFacts['target'], now: number, add: (rule: string, status: ReasonStatus, message: string, howToFix?: string) => void): void {
  const fix = `Run Accord's certification: POST /v1/certifications {"partner":"${target.partner}","api":"${target.api}","version":"${target.version}","environment":"<an environment the partner registered>"} (or accord certify …)`;
  for (const kind of facts.required) {
    const rule = `accord-evidence:${kind}`;
    const ofKind = facts.records.filter((e) => e.kind === kind).sort((a, b) => b.createdAt.localeCompare(a.createdAt) || b.producedAt.localeCompare(a.producedAt));
    const latest = ofKind.find((e) => e.sha256 === target.sha256);
    const ignored = ofKind.length - ofKind.filter((e) => e.sha256 === target.sha256).length;
    const needs = `${facts.environment} needs ${kind} evidence that Accord produced (evidence a caller posted does not count)`;
    if (!latest) add(rule, 'pending', `No ${kind} evidence produced by Accord for this content; ${needs}${ignored ? ` (${ignored} Accord record(s) for other content ignored)` : ''}`, fix);
    else if (latest.result !== 'pass') add(rule, 'failed', `Accord's latest ${kind} run for this content failed (${latest.uri})`, `Fix what it found, then run it again. ${fix}`);
    else if (latest.expiresAt && Date.parse(latest.expiresAt) <= now) add(rule, 'pending', `Accord's ${kind} evidence for this content expired at ${latest.expiresAt}; ${needs}`, fix);
    else add(rule, 'met', `Accord's ${kind} run passed in ${latest.environment} (${latest.uri})`);
  }
}

/** Where a finding is, for a reason's message. */
function place(f: Pick<Change, 'method' | 'path' | 'location'>): string {
  return f.method && f.path ? `${f.method} ${f.path} (${f.location})` : f.location || '/';
}

export function evaluateGate(facts: GateFacts): GateAnswer {
  const reasons: Reason[] = [];
  const add = (rule: string, status: ReasonStatus, message: string, howToFix = '') => reasons.push({ rule, status, message, howToFix });
  const { target, change, diff } = facts;
  const now = Date.parse(facts.now);
  const ref = `${target.partner}/${target.api}@${target.version}`;

  if (target.state === 'retired') add('lifecycle', 'failed', `${ref} is retired`, 'Release a supported version instead.');

  // Change request, approvals, acknowledgements.
  if (!change) {
    add('change-request', 'pending', `No change request for ${ref}`, `Open one: POST /v1/changes {"partner":"${target.partner}","api":"${target.api}","version":"${target.version}","summary":"…"}`);
  } else {
    if (changeIsStale(facts)) {
      add('change-request', 'pending', `Change request ${change.id} is stale: the release would now ship a different diff than the one reviewed`, `Open a new change request for ${ref} so the board reviews the current diff: POST /v1/changes`);
    } else add('change-request', 'met', `Change request ${change.id}`);
    const authors = changeAuthors(change, target.registeredBy);
    const rejections = facts.reviews.filter((r) => r.diffHash === change.diffHash && r.decision === 'reject' && !authors.some((a) => sameActor({ name: r.reviewer, token: r.reviewerToken }, a)));
    const approvers = countedApprovers(authors, change.diffHash, facts.reviews);
    const stale = facts.reviews.filter((r) => r.diffHash !== change.diffHash).length;
    const after = change.foundAfterReview ?? [];
    if (after.length > 0) {
      const listed = after.slice(0, 10).map((f) => `${f.rule} at ${place(f)}: ${f.message}`).join('; ') + (after.length > 10 ? `; and ${after.length - 10} more` : '');
      const found = `${after.length} breaking finding${after.length === 1 ? ' was' : 's were'} found after review, by a newer diff engine or a raised level (${listed})`;
      if (rejections.length === 0 && approvers.length >= change.requiredApprovals) add('found-after-review', 'met', `${found}; the amended diff was approved by ${approvers.join(', ')}`);
      else add('found-after-review', 'pending', `${found}; reviews of the diff before ${after.length === 1 ? 'it' : 'them'} no longer count: the amended diff needs a fresh review`, `Read the amended diff (GET /v1/changes/${change.id}) and review it: POST /v1/changes/${change.id}/reviews {"decision":"approve","diffHash":"${change.diffHash}"}`);
    }
    if (rejections.length > 0) {
      add('approvals', 'failed', `Rejected by ${rejections.map((r) => `${r.reviewer} ("${r.comment}")`).join(', ')}`, 'Address the rejection and open a new change request for a new version.');
    } else if (approvers.length >= change.requiredApprovals) {
      add('approvals', 'met', `Approved by ${approvers.join(', ')} (${approvers.length} of ${change.requiredApprovals} required)`);
    } else {
      add('approvals', 'pending', `${approvers.length} of ${change.requiredApprovals} approvals${stale ? `; ${stale} review(s) were for a different diff and no longer count` : ''}`, `Ask ${change.requiredApprovals - approvers.length} more approver(s) other than ${change.createdBy}: POST /v1/changes/${change.id}/reviews {"decision":"approve"}`);
    }
    const acked = new Set(facts.acks.filter((a) => a.diffHash === change.diffHash).map((a) => a.partner));
    const missing = change.requiredAcks.filter((p) => !acked.has(p));
    if (change.requiredAcks.length === 0) add('acknowledgements', 'met', 'No partner acknowledgements required');
    else if (missing.length === 0) add('acknowledgements', 'met', `Acknowledged by ${change.requiredAcks.join(', ')}`);
    else if (change.askedBecause) add('acknowledgements', 'pending', `Waiting for acknowledgement from ${missing.map((p) => `${p}: ${change.askedBecause!.find((a) => a.partner === p)?.reason ?? 'a consumer of the API'}`).join('; ')}`, `Each affected consumer acknowledges with its token: POST /v1/changes/${change.id}/acknowledgements (GET /v1/changes/${change.id}/diff shows it what touches it)`);
    else add('acknowledgements', 'pending', `Waiting for acknowledgement from ${missing.join(', ')}`, `Each consuming partner acknowledges with its token: POST /v1/changes/${change.id}/acknowledgements`);

    // Evidence: present, passing, unexpired and bound to this content.
    for (const kind of change.requiredEvidence) {
      const ofKind = facts.evidence.filter((e) => e.kind === kind).sort((a, b) => b.createdAt.localeCompare(a.createdAt) || b.producedAt.localeCompare(a.producedAt));
      const bound = ofKind.filter((e) => e.sha256 === target.sha256);
      const latest = bound[0];
      const ignored = ofKind.length - bound.length;
      const fix = `Post ${kind} evidence for content ${target.sha256.slice(0, 12)}…: POST /v1/evidence {"kind":"${kind}","sha256":"${target.sha256}",…} (or accord evidence add)`;
      if (!latest) add(`evidence:${kind}`, 'pending', `No ${kind} evidence for this content${ignored ? ` (${ignored} record(s) for other content ignored)` : ''}`, fix);
      else if (latest.result !== 'pass') add(`evidence:${kind}`, 'failed', `Latest ${kind} evidence failed (${latest.uri})`, `Fix what it found, then post passing evidence. ${fix}`);
      else if (latest.expiresAt && Date.parse(latest.expiresAt) <= now) add(`evidence:${kind}`, 'pending', `${kind} evidence expired at ${latest.expiresAt}`, fix);
      else add(`evidence:${kind}`, 'met', `${kind} passed (${latest.uri})`);
    }
  }

  // Evidence Accord itself produced, whether or not a change request exists.
  if (facts.accordEvidence) accordEvidenceReasons(facts.accordEvidence, target, now, add);

  // Controls: every changed operation is covered by a control-matrix entry.
  const covered = new Map<string, string>();
  for (const f of facts.flows) {
    for (const s of f.steps) {
      covered.set(s.operationId, f.flow);
      const compensation = (s.compensation as { operationId?: string }).operationId;
      if (compensation && !covered.has(compensation)) covered.set(compensation, f.flow);
    }
  }
  const uncovered = facts.changedOperations.filter((op) => !covered.has(op));
  if (facts.changedOperations.length === 0) add('control-matrix', 'met', 'No changed operations need controls');
  else if (uncovered.length > 0) add('control-matrix', 'failed', `Changed operations without a control-matrix entry (idempotency, compensation, SLA, owner): ${uncovered.join(', ')}`, `Add or extend a flow in control-matrix/ that covers them for ${target.partner}/${target.api} ${target.version} (PUT /v1/control-matrix/{flow}).`);
  else add('control-matrix', 'met', `Changed operations covered by ${[...new Set(facts.changedOperations.map((op) => covered.get(op)))].join(', ')}`);

  // The gate reads the approved entries; an open proposal may still change what governs the release.
  for (const p of facts.matrixProposals ?? []) {
    add('matrix-proposals', 'pending', `Control-matrix flow ${p.flow} has an open proposal: version ${p.version} by ${p.createdBy} (against version ${p.baseVersion ?? 'none'}); the gate reads the approved version`, `An approver other than ${p.createdBy} approves it (POST /v1/control-matrix/${p.flow}/proposals/${p.version}/reviews {"decision":"approve"}, or accord matrix approve ${p.flow} ${p.version}) or rejects it.`);
  }

  const sunset = diff.changes.filter((c) => SUNSET_RULES.has(c.rule));
  if (sunset.length > 0) add('sunset', 'failed', `Removed before the announced sunset: ${sunset.map((c) => c.message).join('; ')}`, 'Keep the operation until its x-sunset date, or release after it.');
  else add('sunset', 'met', 'Nothing removed before its sunset');

  if (facts.lint) lintReason(facts.lint, ref, add);

  if (facts.freezes.length > 0) add('release-freeze', 'failed', `Releases for ${target.partner} are frozen: ${facts.freezes.map((f) => f.reason).join('; ')}`, 'Wait until the freeze is lifted (SLA recovered, or an admin lifts it).');
  else add('release-freeze', 'met', `No release freeze for ${target.partner}`);

  const verdict: Verdict = reasons.some((r) => r.status === 'failed') ? 'fail' : reasons.some((r) => r.status === 'pending') ? 'pending' : 'pass';
  const passing = facts.evidence.filter((e) => e.sha256 === target.sha256 && e.result === 'pass');
  return {
    verdict,
    reasons,
    whatChanged: { base: diff.base, bump: diff.bump, summary: diff.summary, breaking: diff.changes.filter((c) => c.level === 'breaking').slice(0, 20).map((c) => `${c.method ? `${c.method} ${c.path}: ` : ''}${c.message}`) },
    detection: {
      flows: facts.flows.map((f) => ({
        flow: f.flow,
        owner: `${f.owner.team} <${f.owner.contact}>`,
        requiredFields: f.observability.requiredFields,
        metrics: f.observability.metrics,
        interventions: f.sla.interventions.map((i) => `${i.metric} > ${i.above} for ${i.for} → ${i.actions.join(', ')}`),
      })),
      evidence: [...new Set(passing.map((e) => e.kind))],
    },
    recovery: {
      rollbackTo: facts.previousRelease ?? diff.base,
      compensations: facts.flows.flatMap((f) =>
        f.steps.map((s) => ({ flow: f.flow, step: s.id, compensation: (s.compensation as { operationId?: string; strategy?: string }).operationId ?? (s.compensation as { strategy?: string }).strategy ?? 'none' })),
      ),
      rollbackPlan: passing.find((e) => e.kind === 'rollback-plan')?.uri ?? null,
      runbook: passing.find((e) => e.kind === 'runbook')?.uri ?? null,
    },
  };
}
