import type { FlowEntry } from './checks.ts';
import { durationMs, formatMs } from './durations.ts';

/** The forms the control-matrix table is rendered in (`?format=`), the default first. */
export const MATRIX_TABLE_FORMATS = ['json', 'csv', 'markdown'] as const;

/** One row of the control-matrix table: what a board member needs per flow. */
export interface MatrixRowView {
  flow: string;
  title: string;
  version: number;
  owner: string;
  contract: string;
  idempotency: string;
  steps: string;
  compensations: string;
  sla: string;
  interventions: string;
  escalation: string;
}

export const TABLE_COLUMNS: Array<[keyof MatrixRowView, string]> = [
  ['flow', 'Flow'],
  ['version', 'Version'],
  ['owner', 'Owner'],
  ['contract', 'Contract'],
  ['idempotency', 'Idempotency'],
  ['steps', 'Steps (timeout × attempts)'],
  ['compensations', 'Compensations'],
  ['sla', 'SLA targets'],
  ['interventions', 'Interventions'],
  ['escalation', 'Escalation'],
];

const human = (duration: string) => formatMs(durationMs(duration));

/** Summarises one flow entry as table cells (one line per item, joined with "\n"). */
export function toRow(entry: FlowEntry, version: number): MatrixRowView {
  const { idempotency: idem } = entry;
  const key = idem.keySource.header ? `${idem.keySource.header} header` : `body ${idem.keySource.bodyPointers!.join(', ')}`;
  const fingerprint = idem.fingerprint.body ? 'whole body' : idem.fingerprint.pointers!.join(', ');
  const compensation = (c: FlowEntry['steps'][number]['compensation'] & { justification?: string }) =>
    `${c.operationId ? c.operationId : c.strategy === 'none' ? `none (${c.justification})` : c.strategy!}${c.approval === 'required' ? ' (approval required)' : ''}`;
  const target = (name: string, label: string) => {
    const t = entry.sla[name]!;
    return `${label} p${t.percentile} ≤ ${human(t.target)}`;
  };
  return {
    flow: entry.flow,
    title: entry.title,
    version,
    owner: `${entry.owner.team} <${entry.owner.contact}>`,
    contract: `${entry.contract.partner === '*' ? 'every partner' : entry.contract.partner}: ${entry.contract.api} ${entry.contract.versions}`,
    idempotency: [`key: ${key}`, `fingerprint: ${fingerprint}`, `window ${human(idem.dedupeWindow)}`, `replay: ${idem.replayPolicy}`, ...(idem.businessKeys.length ? [`business keys: ${idem.businessKeys.join(', ')}`] : [])].join('\n'),
    steps: entry.steps.map((s) => `${s.id}: ${s.operationId} (${human(s.timeout)} × ${s.retry.maxAttempts})`).join('\n'),
    compensations: entry.steps.map((s) => `${s.id} → ${compensation(s.compensation)}`).join('\n'),
    sla: [target('timeToAcknowledge', 'acknowledge'), target('timeToFinalize', 'finalise'), target('duplicateResolution', 'duplicates'), target('remediationResponse', 'remediation')].join('\n'),
    interventions: entry.sla.interventions
      .map((i) => `${i.metric}${i.percentile ? ` p${i.percentile}` : ''} > ${typeof i.above === 'number' ? `${i.above * 100}%` : human(i.above)} for ${human(i.for)} → ${i.actions.join(', ')}`)
      .join('\n'),
    escalation: entry.escalation.map((e) => `after ${human(e.after)}: ${e.contact}${e.channel ? ` (${e.channel})` : ''}`).join('\n'),
  };
}

function csvCell(value: string | number): string {
  const s = String(value);
  return /[",\n\r]/.test(s) ? `"${s.replace(/"/g, '""')}"` : s;
}

/** RFC 4180 CSV with a header row. */
export function toCsv(rows: MatrixRowView[]): string {
  const cols: Array<keyof MatrixRowView> = ['flow', 'title', 'version', 'owner', 'contract', 'idempotency', 'steps', 'compensations', 'sla', 'interventions', 'escalation'];
  return [cols.join(','), ...rows.map((r) => cols.map((c) => csvCell(r[c])).join(','))].join('\r\n') + '\r\n';
}

function mdCell(value: string | number): string {
  return String(value).replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;').replace(/\|/g, '\\|').replace(/\r?\n/g, '<br>');
}

/** A Markdown table a governance board can read in a PR or a wiki. */
export function toMarkdown(rows: MatrixRowView[]): string {
  const lines = [
    '# Control matrix',
    '',
    `| ${TABLE_COLUMNS.map(([, h]) => h).join(' | ')} |`,
    `| ${TABLE_COLUMNS.map(() => '---').join(' | ')} |`,
    ...rows.map((r) => `| ${TABLE_COLUMNS.map(([k]) => (k === 'flow' ? `**${mdCell(r.flow)}**<br>${mdCell(r.title)}` : mdCell(r[k]))).join(' | ')} |`),
    '',
  ];
  return lines.join('\n');
}
