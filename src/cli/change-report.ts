import { oneLine } from '../lib/text.ts';

/**
 * Text a board member reads for change requests: what the change is, what it needs, who said
 * what, and the CLI command for the next step. Every line is made one line (oneLine): summaries,
 * comments and names come from other people and must not forge a line of their own.
 */

/** A change request as GET /v1/changes lists it (ChangeSummary), as far as the text reads it. */
export interface ChangeSummary {
  id: string;
  partner: string;
  api: string;
  version: string;
  baseVersion: string | null;
  breaking: boolean;
  bump: string;
  diffSummary: { breaking: number; warning: number; info: number };
  diffHash: string;
  summary: string;
  flows: string[];
  requires: { approvals: number; acknowledgements: string[]; evidence: string[] };
  createdAt: string;
  createdBy: string;
}

/** One reason of the gate (GateReason). */
interface Reason {
  rule: string;
  status: 'met' | 'pending' | 'failed';
  message: string;
  howToFix: string;
}

/** A change request with its reviews, acknowledgements and gate preview (ChangeDetail), as far as the text reads it. */
export interface ChangeDetail extends ChangeSummary {
  diff: { changes: Array<{ rule: string; level: string; message: string; method?: string; path?: string }> };
  currentDiffHash: string;
  stale: boolean;
  /** Breaking findings found after review (absent from servers before ADR 0022). */
  foundAfterReview?: Array<{ rule: string; level: string; message: string; method?: string; path?: string; at: string }>;
  reviews: Array<{ id: string; decision: string; comment: string; reviewer: string; createdAt: string; counts: boolean }>;
  acknowledgements: Array<{ id: string; partner: string; comment: string; createdAt: string; createdBy: string; counts: boolean }>;
  gatePreview: { environment: string; verdict: string; reasons: Reason[] };
}

const MARK = { met: '✓', pending: '…', failed: '✗' } as const;

/** Changes `show` lists before it says "and N more". */
const LISTED = 20;

const ref = (c: Pick<ChangeSummary, 'partner' | 'api' | 'version'>) => `${c.partner}/${c.api}@${c.version}`;
const plural = (n: number, word: string) => `${n} ${word}${n === 1 ? '' : 's'}`;
const quoted = (text: string) => (text.trim() ? `: "${text}"` : '');

/** What a change needs, in a few words: approvals, acknowledgements, evidence kinds. */
function needs(c: ChangeSummary): string {
  const parts = [plural(c.requires.approvals, 'approval')];
  if (c.requires.acknowledgements.length > 0) parts.push(`acknowledgement from ${c.requires.acknowledgements.join(', ')}`);
  if (c.requires.evidence.length > 0) parts.push(`evidence: ${c.requires.evidence.join(', ')}`);
  return parts.join('; ');
}

/** The class of a change: breaking or not, its bump and what it is against. */
function changeClass(c: ChangeSummary): string {
  return `${c.breaking ? 'breaking' : 'non-breaking'}, ${c.bump} bump against ${c.baseVersion ?? 'nothing (first version)'}`;
}

/** "Next:" and the steps under it, one per line. */
function nextLines(steps: string[]): string[] {
  return steps.length === 0 ? [] : ['Next:', ...steps.map((step) => `  - ${step}`)];
}

/** After `accord change open`: the change request, what it needs, who acts next. */
export function openedText(c: ChangeSummary): string {
  const steps = [`approvers other than ${c.createdBy}: accord review approve ${c.id} --comment "…"`];
  if (c.requires.acknowledgements.length > 0) steps.push(`${c.requires.acknowledgements.join(', ')}: accord ack ${c.id}`);
  if (c.requires.evidence.length > 0) steps.push(`CI, for each evidence kind: accord evidence add|junit --partner ${c.partner} --api ${c.api} --version ${c.version} --kind K …`);
  steps.push(`what is still missing: accord change show ${c.id}`);
  return [
    `Opened change request ${c.id} for ${ref(c)} (${changeClass(c)}).`,
    `  Summary: ${c.summary}`,
    `  Diff: ${c.diffSummary.breaking} breaking, ${c.diffSummary.warning} warnings, ${c.diffSummary.info} info (diff ${c.diffHash.slice(0, 12)})`,
    `  Flows: ${c.flows.join(', ') || 'none'}`,
    `  Needs: ${needs(c)}`,
    ...nextLines(steps),
  ]
    .map(oneLine)
    .join('\n');
}

/** `accord change list`: one line per change request and its summary under it, then what to do next. */
export function listText(changes: ChangeSummary[], awaitingMe: boolean): string {
  if (changes.length === 0) return awaitingMe ? 'Nothing awaits you.' : 'No change requests.';
  const rows = changes.map((c) => [c.id, ref(c), c.breaking ? `breaking (${c.bump})` : `non-breaking (${c.bump})`, `${c.createdAt.slice(0, 10)} by ${c.createdBy}`]);
  const widths = rows[0]!.map((_, i) => Math.max(...rows.map((r) => r[i]!.length)));
  const lines = changes.flatMap((c, i) => [rows[i]!.map((cell, j) => (j < widths.length - 1 ? cell.padEnd(widths[j]!) : cell)).join('  '), `    ${c.summary}`, `    needs ${needs(c)}`]);
  lines.push(
    awaitingMe
      ? `${plural(changes.length, 'change request')} await${changes.length === 1 ? 's' : ''} you. Read one: accord change show <id>; then approvers: accord review approve|reject <id> --comment "…"; partners: accord ack <id>`
      : `${plural(changes.length, 'change request')}. Read one: accord change show <id>`,
  );
  return lines.map(oneLine).join('\n');
}

/** The CLI commands that meet the gate preview's unmet requirements: a rejection alone when there is one (nothing else helps). */
function nextSteps(c: ChangeDetail): string[] {
  const { verdict, environment, reasons } = c.gatePreview;
  const target = `--partner ${c.partner} --api ${c.api} --version ${c.version}`;
  if (verdict === 'pass') return [`the gate passes; release it (ci or admin): accord release record ${target} --env ${environment}`];
  const unmet = reasons.filter((reason) => reason.status !== 'met');
  const rejection = unmet.find((r) => r.rule === 'approvals' && r.status === 'failed');
  if (rejection) return [`${rejection.howToFix} (accord contract register, then accord change open)`];
  const steps: string[] = [];
  const evidence = unmet.filter((r) => r.rule.startsWith('evidence:')).map((r) => r.rule.slice('evidence:'.length));
  for (const r of unmet) {
    if (r.rule === 'change-request') steps.push(`open a new change request for the current diff: accord change open ${target} --summary "…"`);
    else if (r.rule === 'approvals') steps.push(`an approver other than ${c.createdBy}: accord review approve ${c.id} --comment "…"`);
    // Its approvals are pending too, and their step is the fresh review the findings need.
    else if (r.rule === 'found-after-review') continue;
    else if (r.rule === 'acknowledgements') steps.push(`${r.message.replace(/^Waiting for acknowledgement from /, '')}: accord ack ${c.id}`);
    else if (!r.rule.startsWith('evidence:')) steps.push(`[${r.rule}] ${r.howToFix || r.message}`);
  }
  if (evidence.length > 0) steps.push(`CI posts passing evidence (${evidence.join(', ')}): accord evidence add|junit ${target} --kind K …`);
  return steps;
}

/** A breaking change on one line: its operation when the message does not name it already, its message, its rule. */
function changeLine(change: ChangeDetail['diff']['changes'][number]): string {
  const where = change.method && change.path ? `${change.method.toUpperCase()} ${change.path}` : '';
  return `  - ${where && !change.message.includes(change.path!) ? `${where}: ` : ''}${change.message} [${change.rule}]`;
}

/** `accord change show`: the change, its diff, reviews, acknowledgements, the gate preview and the next steps. */
export function detailText(c: ChangeDetail): string {
  const approvals = c.reviews.filter((r) => r.decision === 'approve' && r.counts).length;
  const acked = new Set(c.acknowledgements.filter((a) => a.counts).map((a) => a.partner));
  const waiting = c.requires.acknowledgements.filter((p) => !acked.has(p));
  const breaking = c.diff.changes.filter((change) => change.level === 'breaking');
  const after = c.foundAfterReview ?? [];
  const lines = [
    `Change request ${c.id}: ${ref(c)} (${changeClass(c)})`,
    `  Summary: ${c.summary}`,
    `  Opened by ${c.createdBy} at ${c.createdAt}; flows: ${c.flows.join(', ') || 'none'}`,
    `Diff: ${c.diffSummary.breaking} breaking, ${c.diffSummary.warning} warnings, ${c.diffSummary.info} info (diff ${c.diffHash.slice(0, 12)})`,
    ...(c.stale ? [`  STALE: a release would now ship a different diff (${c.currentDiffHash.slice(0, 12)}); reviews and acknowledgements of this one no longer count`] : []),
    ...(after.length > 0 ? [`  FOUND AFTER REVIEW: ${plural(after.length, 'breaking finding')} added to the diff after it was reviewed; reviews and acknowledgements of the diff before no longer count`, ...after.slice(0, LISTED).map((f) => `${changeLine(f)} (found ${f.at})`)] : []),
    ...(after.length > LISTED ? [`  … and ${after.length - LISTED} more found after review`] : []),
    ...breaking.filter((change) => !(change as { foundAfterReview?: unknown }).foundAfterReview).slice(0, LISTED).map(changeLine),
    ...(breaking.length > LISTED ? [`  … and ${breaking.length - LISTED} more breaking changes`] : []),
    `Reviews: ${approvals} counted approval${approvals === 1 ? '' : 's'} of ${c.requires.approvals} required`,
    ...c.reviews.map((r) => `  ${r.decision === 'approve' ? '✓' : '✗'} ${r.decision} by ${r.reviewer} at ${r.createdAt}${quoted(r.comment)}${r.counts ? '' : ' (does not count: for another diff)'}`),
    `Acknowledgements: ${c.requires.acknowledgements.length === 0 ? 'none required' : `${c.requires.acknowledgements.length - waiting.length} of ${c.requires.acknowledgements.length}${waiting.length > 0 ? `; waiting for ${waiting.join(', ')}` : ''}`}`,
    ...c.acknowledgements.map((a) => `  ✓ ${a.partner} (${a.createdBy}) at ${a.createdAt}${quoted(a.comment)}${a.counts ? '' : ' (does not count: for another diff)'}`),
    `Gate preview (${c.gatePreview.environment}): ${c.gatePreview.verdict.toUpperCase()}`,
    ...c.gatePreview.reasons.map((r) => `  ${MARK[r.status] ?? '?'} [${r.rule}] ${r.message}`),
    ...nextLines(nextSteps(c)),
  ];
  return lines.map(oneLine).join('\n');
}
