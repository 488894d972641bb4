import type { Deps } from '../deps.ts';
import { getIncident, type IncidentView } from './incidents.ts';
import { getPostmortem, type PostmortemView } from './postmortem.ts';
import { assembleTimeline, timelineWindow, type TimelineEntry } from './timeline.ts';

/** GET /v1/incidents/{id}: the incident, its timeline (assembled now) and its postmortem. */
export interface IncidentDetail extends IncidentView {
  window: { from: string; to: string };
  timeline: TimelineEntry[];
  postmortem: PostmortemView | null;
}

/** An incident with its timeline and postmortem. */
export async function incidentDetail(deps: Pick<Deps, 'db' | 'clock'>, ref: string): Promise<IncidentDetail> {
  const incident = await getIncident(deps, ref);
  return {
    ...incident,
    window: timelineWindow(incident, deps.clock()),
    timeline: await assembleTimeline(deps, incident, incident.interventions),
    postmortem: await getPostmortem(deps, incident.id),
  };
}

/** Markdown text: no raw HTML, no line breaks that would end a table cell or list item. */
function md(text: string | null | undefined): string {
  return (text ?? '').replace(/[\\`*[\]<>|#]/g, (c) => `\\${c}`).replace(/\r?\n/g, ' ');
}

/** A paragraph of free text (line breaks kept). */
function block(text: string): string {
  return text
    .split(/\r?\n/)
    .map((line) => md(line))
    .join('  \n');
}

/** A link's target as Markdown: the API path, made absolute with `base`. */
function target(base: string, link: string): string {
  return `${base}${link}`.replace(/[()\s]/g, encodeURIComponent);
}

/**
 * The incident as a Markdown document (GET /v1/incidents/{id}?format=markdown): summary,
 * timeline, postmortem and action items with their links. `base` makes API paths absolute.
 */
export function incidentMarkdown(detail: IncidentDetail, base: string): string {
  const lines: string[] = [];
  lines.push(`# ${detail.ref}: ${md(detail.title)}`, '');
  lines.push('| | |', '| --- | --- |');
  const row = (k: string, v: string | null) => lines.push(`| ${k} | ${v === null || v === '' ? '—' : v} |`);
  row('Severity', detail.severity);
  row('Status', detail.status);
  row('Opened', `${detail.openedAt} by ${md(detail.openedBy)} (${detail.source === 'sla' ? 'SLA breach' : 'operator'})`);
  row('Started', detail.startedAt);
  row('Closed', detail.closedAt ? `${detail.closedAt} by ${md(detail.closedBy)}` : null);
  row('Flow', md(detail.flow));
  row('Partner', md(detail.partner));
  row('API', md(detail.api));
  row('SLA interventions', detail.interventions.join(', '));
  lines.push('');
  if (detail.summary) lines.push('## Summary', '', block(detail.summary), '');

  lines.push('## Timeline', '', `From ${detail.window.from} to ${detail.window.to}.`, '');
  if (detail.timeline.length === 0) lines.push('Nothing recorded.');
  for (const e of detail.timeline) lines.push(`- ${e.at} — **${e.kind}** — ${md(e.summary)}${e.link ? ` ([link](${target(base, e.link)}))` : ''}`);
  lines.push('');

  lines.push('## Postmortem', '');
  const pm = detail.postmortem;
  if (!pm) {
    lines.push('Not written yet.', '');
  } else {
    lines.push(`Last written ${pm.updatedAt} by ${md(pm.updatedBy)}.`, '');
    lines.push('### Root cause', '', block(pm.rootCause), '');
    lines.push('### Detection', '', `Time to detect: ${pm.detection.timeToDetect ?? '—'}`, '', block(pm.detection.how), '');
    lines.push('### Compensation effectiveness', '', block(pm.compensationEffectiveness), '');
    lines.push('### Partner communication', '', block(pm.partnerCommunication), '');
    lines.push('### Governance gaps', '', block(pm.governanceGaps), '');
    lines.push('## Action items', '');
    if (pm.actionItems.length === 0) lines.push('None.');
    for (const a of pm.actionItems) {
      const link = a.link ? ` — ${a.link.kind} [${md(a.link.ref)}](${target(base, actionLink(a.link))})` : '';
      lines.push(`- [${a.status === 'done' ? 'x' : ' '}] ${md(a.title)} (${a.area}${a.owner ? `, owner ${md(a.owner)}` : ''})${link}`);
    }
    lines.push('');
  }
  return lines.join('\n');
}

/** Where an action item's link points (an API path). */
export function actionLink(link: { kind: string; ref: string }): string {
  if (link.kind === 'change-request') return `/v1/changes/${encodeURIComponent(link.ref)}`;
  if (link.kind === 'matrix-proposal') {
    const [flow, version] = link.ref.split('/');
    return `/v1/control-matrix/${encodeURIComponent(flow ?? '')}/proposals/${encodeURIComponent((version ?? '').replace(/^v/, ''))}`;
  }
  return '/v1/policy';
}
