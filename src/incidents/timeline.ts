import type { Deps } from '../deps.ts';
import type { incidents } from '../db/index.ts';
import { incidentRef } from './incidents.ts';

/** How long before an incident's start its timeline looks (releases and changes that led to it). */
export const TIMELINE_MARGIN_MS = 60 * 60_000;

/** At most this many entries from each source. */
export const TIMELINE_SOURCE_LIMIT = 100;

/** What a timeline entry is about. */
export const TIMELINE_KINDS = [
  'incident.opened',
  'incident.closed',
  'sla.breach',
  'sla.intervention-applied',
  'sla.intervention-lifted',
  'release',
  'gate.decision',
  'transaction.compensation',
  'transaction.operator-action',
  'compensation.approval',
  'synthetic.failure',
  'notice',
] as const;
export type TimelineKind = (typeof TIMELINE_KINDS)[number];

/** One entry: when, what kind, a line saying what happened, and where to read more (an API path). */
export interface TimelineEntry {
  at: string;
  kind: TimelineKind;
  summary: string;
  link: string | null;
}

type IncidentRow = typeof incidents.$inferSelect;

/** The window a timeline covers: from an hour before the start to the close (or now). */
export function timelineWindow(incident: Pick<IncidentRow, 'startedAt' | 'closedAt'>, now: Date): { from: string; to: string } {
  return { from: new Date(Date.parse(incident.startedAt) - TIMELINE_MARGIN_MS).toISOString(), to: incident.closedAt ?? now.toISOString() };
}

/** `col = ?` for each of the incident's partner/flow/api that is set (and that the source has), with the parameters. */
function scope(columns: { partner?: string; flow?: string; api?: string }, incident: IncidentRow): { where: string; params: unknown[] } {
  const where: string[] = [];
  const params: unknown[] = [];
  for (const key of ['partner', 'flow', 'api'] as const) {
    const column = columns[key];
    const value = incident[key];
    if (column && value) {
      where.push(`${column} = ?`);
      params.push(value);
    }
  }
  return { where: where.map((w) => ` AND ${w}`).join(''), params };
}

const parse = (text: string): Record<string, unknown> => {
  try {
    return JSON.parse(text) as Record<string, unknown>;
  } catch {
    return {};
  }
};

/**
 * An incident's timeline, assembled when read from what Accord recorded in its window (an hour
 * before its start → its close, or now) for its partner, flow and API (each one that is set
 * narrows the sources that have it): the breach and the SLA interventions applied and lifted
 * (its own, and others of its flow/partner), releases and gate decisions, compensations and
 * operator actions on transactions, compensation approvals, failed synthetic checks, notices.
 * At most TIMELINE_SOURCE_LIMIT entries per source; oldest first.
 */
export async function assembleTimeline(deps: Pick<Deps, 'db' | 'clock'>, incident: IncidentRow, interventionIds: string[]): Promise<TimelineEntry[]> {
  const sql = deps.db.$sql;
  const { from, to } = timelineWindow(incident, deps.clock());
  const window = [from, to];
  const limit = TIMELINE_SOURCE_LIMIT;
  const entries: TimelineEntry[] = [];
  const ref = incidentRef(incident.number);

  entries.push({ at: incident.openedAt, kind: 'incident.opened', summary: `${ref} opened by ${incident.openedBy} (${incident.severity}): ${incident.title}`, link: `/v1/incidents/${incident.id}` });
  if (incident.source === 'sla') entries.push({ at: incident.startedAt, kind: 'sla.breach', summary: `SLA breach began: ${incident.title}`, link: '/v1/sla' });
  if (incident.closedAt) entries.push({ at: incident.closedAt, kind: 'incident.closed', summary: `${ref} closed by ${incident.closedBy}`, link: `/v1/incidents/${incident.id}` });

  // SLA interventions: the incident's own, and those of its flow/partner in the window.
  const linked = interventionIds.length ? ` OR id IN (${interventionIds.map(() => '?').join(', ')})` : '';
  const slaScope = scope({ partner: 'partner', flow: 'flow' }, incident);
  const inWindow = slaScope.params.length ? `(started_at <= ? AND (lifted_at IS NULL OR lifted_at >= ?)${slaScope.where})` : '1 = 0';
  const interventions = await sql.all<{ id: string; flow: string; partner: string; metric: string; actions: string; value: string; threshold: string; started_at: string; lifted_at: string | null }>(
    `SELECT id, flow, partner, metric, actions, value, threshold, started_at, lifted_at FROM sla_interventions WHERE ${inWindow}${linked} ORDER BY started_at LIMIT ?`,
    [...(slaScope.params.length ? [to, from, ...slaScope.params] : []), ...interventionIds, limit],
  );
  for (const r of interventions) {
    const actions = (parse(r.actions) as unknown as string[]).join(', ');
    entries.push({ at: r.started_at, kind: 'sla.intervention-applied', summary: `${r.flow} at ${r.partner}: ${r.metric} ${Number(r.value).toFixed(3)} above ${r.threshold} → ${actions} (${r.id})`, link: '/v1/sla' });
    if (r.lifted_at && r.lifted_at <= to) entries.push({ at: r.lifted_at, kind: 'sla.intervention-lifted', summary: `${r.flow} at ${r.partner}: ${r.metric} recovered; ${actions} lifted (${r.id})`, link: '/v1/sla' });
  }

  const contractScope = scope({ partner: 'partner', api: 'api' }, incident);
  const releases = await sql.all<{ id: string; partner: string; api: string; version: string; environment: string; created_at: string; created_by: string; decision_id: string }>(
    `SELECT id, partner, api, version, environment, created_at, created_by, decision_id FROM releases WHERE created_at >= ? AND created_at <= ?${contractScope.where} ORDER BY created_at LIMIT ?`,
    [...window, ...contractScope.params, limit],
  );
  for (const r of releases) entries.push({ at: r.created_at, kind: 'release', summary: `${r.partner}/${r.api} ${r.version} released to ${r.environment} by ${r.created_by}`, link: `/v1/gate/decisions/${r.decision_id}` });

  const decisions = await sql.all<{ id: string; partner: string; api: string; version: string; environment: string; verdict: string; break_glass_reason: string | null; created_at: string; requested_by: string }>(
    `SELECT id, partner, api, version, environment, verdict, break_glass_reason, created_at, requested_by FROM gate_decisions WHERE created_at >= ? AND created_at <= ?${contractScope.where} ORDER BY created_at LIMIT ?`,
    [...window, ...contractScope.params, limit],
  );
  for (const d of decisions) {
    entries.push({ at: d.created_at, kind: 'gate.decision', summary: `gate ${d.verdict} for ${d.partner}/${d.api} ${d.version} → ${d.environment} (asked by ${d.requested_by})${d.break_glass_reason ? `; break-glass: ${d.break_glass_reason}` : ''}`, link: `/v1/gate/decisions/${d.id}` });
  }

  // Compensations and operator actions on the transactions of the partner/flow.
  const txScope = scope({ partner: 't.partner', flow: 't.flow', api: 't.api' }, incident);
  const events = await sql.all<{ transaction_id: string; type: string; step_id: string | null; data: string; created_at: string; flow: string; partner: string }>(
    `SELECT e.transaction_id, e.type, e.step_id, e.data, e.created_at, t.flow, t.partner FROM transaction_events e JOIN transactions t ON t.id = e.transaction_id
      WHERE e.created_at >= ? AND e.created_at <= ? AND (e.type LIKE 'transaction.compensation-%' OR e.type LIKE 'transaction.operator-%')${txScope.where} ORDER BY e.created_at, e.seq LIMIT ?`,
    [...window, ...txScope.params, limit],
  );
  for (const e of events) {
    const operator = e.type.startsWith('transaction.operator-');
    const by = operator ? ` by ${String(parse(e.data).by ?? 'an operator')}` : '';
    entries.push({ at: e.created_at, kind: operator ? 'transaction.operator-action' : 'transaction.compensation', summary: `${e.type.replace('transaction.', '')}${e.step_id ? ` (${e.step_id})` : ''}${by}: ${e.flow} at ${e.partner}, ${e.transaction_id}`, link: `/v1/transactions/${e.transaction_id}` });
  }

  const approvalScope = scope({ partner: 'partner', flow: 'flow' }, incident);
  const approvals = await sql.all<{ transaction_id: string; step_id: string; status: string; requested_at: string; decided_at: string | null; decided_by: string | null; reason: string | null }>(
    `SELECT transaction_id, step_id, status, requested_at, decided_at, decided_by, reason FROM compensation_approvals WHERE ((requested_at >= ? AND requested_at <= ?) OR (decided_at >= ? AND decided_at <= ?))${approvalScope.where} ORDER BY requested_at LIMIT ?`,
    [...window, ...window, ...approvalScope.params, limit],
  );
  for (const a of approvals) {
    if (a.requested_at >= from && a.requested_at <= to) entries.push({ at: a.requested_at, kind: 'compensation.approval', summary: `compensation of ${a.step_id} awaits approval: ${a.transaction_id}`, link: `/v1/transactions/${a.transaction_id}` });
    if (a.decided_at && a.decided_at >= from && a.decided_at <= to) entries.push({ at: a.decided_at, kind: 'compensation.approval', summary: `compensation of ${a.step_id} ${a.status} by ${a.decided_by ?? 'an operator'}${a.reason ? `: ${a.reason}` : ''}: ${a.transaction_id}`, link: `/v1/transactions/${a.transaction_id}` });
  }

  // Synthetic checks are stored as synthetic-check evidence (src/observability/synthetic.ts).
  const failures = await sql.all<{ partner: string; api: string; version: string; uri: string; environment: string; created_at: string }>(
    `SELECT partner, api, version, uri, environment, created_at FROM evidence WHERE kind = 'synthetic-check' AND result = 'fail' AND created_at >= ? AND created_at <= ?${contractScope.where} ORDER BY created_at LIMIT ?`,
    [...window, ...contractScope.params, limit],
  );
  for (const f of failures) {
    const transaction = /^urn:accord:transaction:(.+)$/.exec(f.uri)?.[1];
    entries.push({ at: f.created_at, kind: 'synthetic.failure', summary: `synthetic check failed against ${f.partner}/${f.api} ${f.version} (${f.environment})`, link: transaction ? `/v1/transactions/${transaction}` : `/v1/evidence?partner=${encodeURIComponent(f.partner)}&api=${encodeURIComponent(f.api)}&version=${encodeURIComponent(f.version)}` });
  }

  // Notices of the partner: those about its contracts and those sent to it (its audience).
  const noticeScope = incident.partner ? { where: ` AND (partner = ? OR audience LIKE ?)`, params: [incident.partner, `%${JSON.stringify(incident.partner)}%`] } : { where: '', params: [] };
  const notices = await sql.all<{ id: string; kind: string; partner: string; api: string; version: string; title: string; created_at: string }>(
    `SELECT id, kind, partner, api, version, title, created_at FROM notices WHERE created_at >= ? AND created_at <= ?${noticeScope.where} ORDER BY created_at LIMIT ?`,
    [...window, ...noticeScope.params, limit],
  );
  for (const n of notices) entries.push({ at: n.created_at, kind: 'notice', summary: `notice ${n.kind} sent about ${n.partner}/${n.api} ${n.version}: ${n.title}`, link: '/v1/notices' });

  const order = (kind: TimelineKind) => TIMELINE_KINDS.indexOf(kind);
  return entries.sort((a, b) => (a.at < b.at ? -1 : a.at > b.at ? 1 : order(a.kind) - order(b.kind)));
}
