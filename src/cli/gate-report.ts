import type { GateDecision } from '../gate/check.ts';
import { oneLine } from '../lib/text.ts';
import { escapeXml as xml } from '../lib/xml.ts';


const MARK = { met: '✓', pending: '…', failed: '✗' } as const;

/** Text for terminals: a one-line verdict, then each unmet requirement and how to meet it. */
export function gateText(d: GateDecision): string {
  const target = `${d.partner}/${d.api}@${d.version} → ${d.environment}`;
  const unmet = d.reasons.filter((r) => r.status !== 'met');
  const lines = [`${d.verdict.toUpperCase()} ${target}: ${d.verdict === 'pass' ? 'all requirements met' : `${unmet.length} requirement${unmet.length === 1 ? '' : 's'} not met`} (decision ${d.decisionId})`];
  for (const r of unmet) {
    lines.push(`  ${MARK[r.status]} [${r.rule}] ${r.message}`);
    if (r.howToFix) lines.push(`      how to fix: ${r.howToFix}`);
  }
  if (d.breakGlass) lines.push(`  ! break-glass by ${d.breakGlass.by}: ${d.breakGlass.reason} (review ${d.breakGlass.reviewItem})`);
  lines.push(`What changed: ${d.whatChanged.summary.breaking} breaking, ${d.whatChanged.summary.warning} warnings, ${d.whatChanged.summary.info} info since ${d.whatChanged.base ?? 'nothing'} (${d.whatChanged.bump})`);
  for (const b of d.whatChanged.breaking.slice(0, 5)) lines.push(`  - ${b}`);
  lines.push(`Detection: ${d.detection.flows.map((f) => `${f.flow} (owner ${f.owner}; ${f.interventions.length} interventions)`).join('; ') || 'no flows'}; passing evidence: ${d.detection.evidence.join(', ') || 'none'}`);
  lines.push(`Recovery: roll back to ${d.recovery.rollbackTo ?? 'nothing'}; compensations: ${d.recovery.compensations.map((c) => `${c.flow}/${c.step} → ${c.compensation}`).join(', ') || 'none'}${d.recovery.rollbackPlan ? `; rollback plan ${d.recovery.rollbackPlan}` : ''}`);
  return lines.map(oneLine).join('\n');
}

/** Markdown for PR comments. */
export function gateMarkdown(d: GateDecision): string {
  const rows = d.reasons.map((r) => `| ${MARK[r.status]} | \`${r.rule}\` | ${r.message.replace(/\|/g, '\\|')} | ${(r.howToFix || '').replace(/\|/g, '\\|')} |`);
  return [
    `### Release gate: **${d.verdict.toUpperCase()}** — ${d.partner}/${d.api}@${d.version} → ${d.environment}`,
    '',
    '| | rule | status | how to fix |',
    '| --- | --- | --- | --- |',
    ...rows,
    '',
    `**What changed:** ${d.whatChanged.summary.breaking} breaking, ${d.whatChanged.summary.warning} warnings since ${d.whatChanged.base ?? 'nothing'}.  `,
    `**Detection:** ${d.detection.flows.map((f) => f.flow).join(', ') || 'no flows'}; evidence: ${d.detection.evidence.join(', ') || 'none'}.  `,
    `**Recovery:** roll back to ${d.recovery.rollbackTo ?? 'nothing'}; ${d.recovery.compensations.length} compensations.  `,
    `Decision \`${d.decisionId}\`.`,
  ]
    .map(oneLine)
    .join('\n');
}

/** JUnit XML: one test case per requirement (failed → failure, pending → skipped). */
export function gateJunit(d: GateDecision): string {
  const failures = d.reasons.filter((r) => r.status === 'failed').length;
  const skipped = d.reasons.filter((r) => r.status === 'pending').length;
  const cases = d.reasons.map((r) => {
    const inner = r.status === 'failed' ? `<failure message="${xml(r.message)}">${xml(r.howToFix)}</failure>` : r.status === 'pending' ? `<skipped message="${xml(r.message)}"/>` : '';
    return `    <testcase classname="accord.gate.${xml(d.partner)}.${xml(d.api)}" name="${xml(r.rule)}">${inner}</testcase>`;
  });
  return `<?xml version="1.0" encoding="UTF-8"?>
<testsuites name="accord gate ${xml(`${d.partner}/${d.api}@${d.version} ${d.environment}`)}" tests="${d.reasons.length}" failures="${failures}" skipped="${skipped}">
  <testsuite name="release-gate" tests="${d.reasons.length}" failures="${failures}" errors="0" skipped="${skipped}">
${cases.join('\n')}
  </testsuite>
</testsuites>`;
}
