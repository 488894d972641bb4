import type { Context, Hono } from 'hono';
import type { Deps } from '../../../deps.ts';
import { AccordError } from '../../../errors.ts';
import { authorize, mayCall } from '../../../http/api.ts';
import * as ops from '../../../http/operations/incidents.ts';
import { incidentDetail, incidentMarkdown, type IncidentDetail } from '../../../incidents/detail.ts';
import { closeIncident, INCIDENT_STATUSES, IncidentRequest, listIncidents, openIncident, SEVERITIES, type IncidentFilter, type IncidentView } from '../../../incidents/incidents.ts';
import { PostmortemRequest, proposalRef, writePostmortem } from '../../../incidents/postmortem.ts';
import { parseInput } from '../../../lib/validate.ts';
import type { Runtime } from '../../../runtime/index.ts';
import { TableWrap } from '../../components/table-wrap.tsx';
import { Time } from '../../components/time.tsx';
import { CsrfField, ErrorBox, Layout, type PageContext } from '../../layout.tsx';
import { pageContext, sendPage, textForm, type WebEnv } from '../../types.ts';
import { type Form, optional, PostmortemForm, postmortemForm, postmortemInput } from './incident-postmortem-form.tsx';
import { SeverityBadge, StatusBadge } from './incident-badges.tsx';
import { OperationsNav } from './nav.tsx';

const DONE = { opened: 'Incident opened.', written: 'Postmortem saved.', closed: 'Incident closed.' } as const;
type Done = keyof typeof DONE;



function ListPage(props: { ctx: PageContext; incidents: IncidentView[]; filter: IncidentFilter; error?: AccordError; form?: Form }) {
  const { ctx, filter } = props;
  const form = props.form ?? {};
  const mayOpen = mayCall(ctx.principal, ops.createIncident);
  return (
    <Layout title="Incidents" ctx={ctx}>
      <OperationsNav ctx={ctx} />
      <p class="muted">SLA breaches open incidents on their own; an open incident of the same flow and partner covers every further breach. Open ones first, newest first.</p>
      <form method="get" action="/console/operations/incidents" class="filters" aria-label="Filter incidents">
        <div class="field">
          <label for="incident-status">Status</label>
          <select id="incident-status" name="status">
            <option value="">Any</option>
            {INCIDENT_STATUSES.map((s) => (
              <option value={s} selected={filter.status === s}>
                {s}
              </option>
            ))}
          </select>
        </div>
        <div class="field">
          <label for="incident-partner-filter">Partner</label>
          <input id="incident-partner-filter" name="partner" type="search" value={filter.partner ?? ''} maxlength={100} />
        </div>
        <div class="field">
          <label for="incident-flow-filter">Flow</label>
          <input id="incident-flow-filter" name="flow" type="search" value={filter.flow ?? ''} maxlength={100} />
        </div>
        <button type="submit">Filter</button>
      </form>
      {props.incidents.length === 0 ? (
        <p>No incidents{filter.status || filter.partner || filter.flow ? ' match' : ''}.</p>
      ) : (
        <TableWrap label="Incidents">
          <table>
            <thead>
              <tr>
                <th scope="col">Incident</th>
                <th scope="col">Title</th>
                <th scope="col">Severity</th>
                <th scope="col">Status</th>
                <th scope="col">Flow</th>
                <th scope="col">Partner</th>
                <th scope="col">Started</th>
                <th scope="col">Opened</th>
                <th scope="col">Closed</th>
              </tr>
            </thead>
            <tbody>
              {props.incidents.map((i) => (
                <tr>
                  <td>
                    <a href={`/console/operations/incidents/${i.id}`}>{i.ref}</a>
                  </td>
                  <td>{i.title}</td>
                  <td>
                    <SeverityBadge severity={i.severity} />
                  </td>
                  <td>
                    <StatusBadge status={i.status} />
                  </td>
                  <td>{i.flow ?? '—'}</td>
                  <td>{i.partner ?? '—'}</td>
                  <td>
                    <Time at={i.startedAt} />
                  </td>
                  <td>
                    <Time at={i.openedAt} /> <span class="muted">by {i.openedBy}</span>
                  </td>
                  <td>{i.closedAt ? <Time at={i.closedAt} /> : '—'}</td>
                </tr>
              ))}
            </tbody>
          </table>
        </TableWrap>
      )}
      {mayOpen && (
        <section class="panel" aria-labelledby="open-incident">
          <h2 id="open-incident">Open incident</h2>
          <ErrorBox message={props.error?.message} errors={props.error?.errors} />
          <form method="post" action="/console/operations/incidents">
            <CsrfField csrf={ctx.csrf} />
            <div class="field">
              <label for="incident-title">Title</label>
              <input id="incident-title" name="title" type="text" required maxlength={200} value={form.title ?? ''} />
            </div>
            <div class="field">
              <label for="incident-severity">Severity</label>
              <select id="incident-severity" name="severity">
                {SEVERITIES.map((s) => (
                  <option value={s} selected={(form.severity ?? 'sev2') === s}>
                    {s}
                  </option>
                ))}
              </select>
            </div>
            <div class="field">
              <label for="incident-flow">Flow (optional)</label>
              <input id="incident-flow" name="flow" type="text" maxlength={100} value={form.flow ?? ''} />
            </div>
            <div class="field">
              <label for="incident-partner">Partner (optional)</label>
              <input id="incident-partner" name="partner" type="text" maxlength={100} value={form.partner ?? ''} />
            </div>
            <div class="field">
              <label for="incident-api">API (optional)</label>
              <input id="incident-api" name="api" type="text" maxlength={100} value={form.api ?? ''} />
            </div>
            <div class="field">
              <label for="incident-started">Started at (optional, RFC 3339, e.g. 2026-11-27T12:00:00Z; default now)</label>
              <input id="incident-started" name="startedAt" type="text" maxlength={40} value={form.startedAt ?? ''} />
            </div>
            <div class="field">
              <label for="incident-summary">Summary (optional)</label>
              <textarea id="incident-summary" name="summary" maxlength={10000}>
                {form.summary ?? ''}
              </textarea>
            </div>
            <button type="submit">Open incident</button>
          </form>
        </section>
      )}
    </Layout>
  );
}

function DetailPage(props: { ctx: PageContext; detail: IncidentDetail; done?: Done; error?: AccordError; errorAt?: 'postmortem' | 'close'; form?: Form }) {
  const { ctx, detail } = props;
  const pm = detail.postmortem;
  const open = detail.status === 'open';
  const mayWrite = open && mayCall(ctx.principal, ops.putIncidentPostmortem);
  const mayClose = open && mayCall(ctx.principal, ops.closeIncident);
  return (
    <Layout title={`${detail.ref}: ${detail.title}`} ctx={ctx}>
      <OperationsNav ctx={ctx} />
      {props.done && (
        <p class="notice-ok" role="status">
          {DONE[props.done]}
        </p>
      )}
      <dl class="facts">
        <dt>Status</dt>
        <dd>
          <StatusBadge status={detail.status} />
          {detail.closedAt ? (
            <>
              {' '}
              <Time at={detail.closedAt} /> by {detail.closedBy}
            </>
          ) : null}
        </dd>
        <dt>Severity</dt>
        <dd>
          <SeverityBadge severity={detail.severity} />
        </dd>
        <dt>Opened</dt>
        <dd>
          <Time at={detail.openedAt} /> by {detail.openedBy} ({detail.source === 'sla' ? 'SLA breach' : 'operator'})
        </dd>
        <dt>Started</dt>
        <dd>
          <Time at={detail.startedAt} />
        </dd>
        <dt>Flow</dt>
        <dd>{detail.flow ?? '—'}</dd>
        <dt>Partner</dt>
        <dd>{detail.partner ?? '—'}</dd>
        <dt>API</dt>
        <dd>{detail.api ?? '—'}</dd>
        <dt>SLA interventions</dt>
        <dd>{detail.interventions.length ? detail.interventions.join(', ') : '—'}</dd>
        <dt>Export</dt>
        <dd>
          <a href={`/console/operations/incidents/${detail.id}/markdown`}>Markdown</a>
        </dd>
      </dl>
      {detail.summary && <p>{detail.summary}</p>}

      <h2 id="timeline">Timeline</h2>
      <p class="muted">
        Assembled from what Accord recorded from <Time at={detail.window.from} /> to <Time at={detail.window.to} /> for this incident's flow, partner and API.
      </p>
      <TableWrap label="Timeline">
        <table>
          <thead>
            <tr>
              <th scope="col">Time (UTC)</th>
              <th scope="col">What</th>
              <th scope="col">Details</th>
              <th scope="col">API</th>
            </tr>
          </thead>
          <tbody>
            {detail.timeline.map((e) => (
              <tr>
                <td>
                  <time datetime={e.at}>{e.at.slice(0, 19).replace('T', ' ')}</time>
                </td>
                <td>
                  <code>{e.kind}</code>
                </td>
                <td>{e.summary}</td>
                <td>{e.link ? <code>{e.link}</code> : '—'}</td>
              </tr>
            ))}
          </tbody>
        </table>
      </TableWrap>

      <h2 id="postmortem">Postmortem</h2>
      {pm ? (
        <>
          <p class="muted">
            Last written <Time at={pm.updatedAt} /> by {pm.updatedBy}.
          </p>
          <dl class="facts">
            <dt>Root cause</dt>
            <dd>{pm.rootCause}</dd>
            <dt>Time to detect</dt>
            <dd>{pm.detection.timeToDetect ?? '—'}</dd>
            <dt>How detected</dt>
            <dd>{pm.detection.how}</dd>
            <dt>Compensation effectiveness</dt>
            <dd>{pm.compensationEffectiveness}</dd>
            <dt>Partner communication</dt>
            <dd>{pm.partnerCommunication}</dd>
            <dt>Governance gaps</dt>
            <dd>{pm.governanceGaps}</dd>
          </dl>
          <h3 id="action-items">Action items</h3>
          {pm.actionItems.length === 0 ? (
            <p>None.</p>
          ) : (
            <TableWrap label="Action items">
              <table>
                <thead>
                  <tr>
                    <th scope="col">Title</th>
                    <th scope="col">Area</th>
                    <th scope="col">Link</th>
                    <th scope="col">Owner</th>
                    <th scope="col">Status</th>
                  </tr>
                </thead>
                <tbody>
                  {pm.actionItems.map((a) => (
                    <tr>
                      <td>{a.title}</td>
                      <td>{a.area}</td>
                      <td>{a.link ? <ActionLink kind={a.link.kind} ref_={a.link.ref} /> : '—'}</td>
                      <td>{a.owner ?? '—'}</td>
                      <td>
                        <span class={`badge ${a.status === 'done' ? 'ok' : 'pending'}`}>{a.status}</span>
                      </td>
                    </tr>
                  ))}
                </tbody>
              </table>
            </TableWrap>
          )}
        </>
      ) : (
        <p>Not written yet.</p>
      )}
      {mayWrite && <PostmortemForm ctx={ctx} detail={detail} form={props.form ?? postmortemForm(detail)} error={props.errorAt === 'postmortem' ? props.error : undefined} />}
      {mayClose && (
        <section class="panel" aria-labelledby="close-incident">
          <h2 id="close-incident">Close the incident</h2>
          <p class="muted">Only with a postmortem whose action items are all done.</p>
          <ErrorBox message={props.errorAt === 'close' ? props.error?.message : undefined} />
          <form method="post" action={`/console/operations/incidents/${detail.id}/close`}>
            <CsrfField csrf={ctx.csrf} />
            <button type="submit">Close incident</button>
          </form>
        </section>
      )}
    </Layout>
  );
}

/** An action item's link: to the console page where there is one. */
function ActionLink(props: { kind: string; ref_: string }) {
  const { kind, ref_ } = props;
  if (kind === 'change-request') return <a href={`/console/changes/${encodeURIComponent(ref_)}`}>{`change request ${ref_}`}</a>;
  if (kind === 'matrix-proposal') {
    // The version the item names, not whatever version of the flow is the latest when it is read.
    const proposal = proposalRef(ref_);
    const href = proposal ? `/console/matrix/${encodeURIComponent(proposal.flow)}?version=${proposal.version}` : `/console/matrix/${encodeURIComponent(ref_.split('/')[0] ?? '')}`;
    return <a href={href}>{`matrix proposal ${ref_}`}</a>;
  }
  return <span>{`evidence requirement ${ref_}`}</span>;
}

function filterOf(c: Context<WebEnv>): IncidentFilter {
  const status = optional(c.req.query('status'));
  if (status !== undefined && !(INCIDENT_STATUSES as readonly string[]).includes(status)) throw new AccordError('bad_request', `Unknown status ${JSON.stringify(status)}`, { errors: [{ location: 'status', message: 'must be open or closed' }] });
  return { status: status as IncidentFilter['status'], partner: optional(c.req.query('partner')), flow: optional(c.req.query('flow')) };
}

/** Incidents in the operations console: the list (with "Open incident"), one incident with its timeline, postmortem form and close button, its Markdown export. */
export function registerIncidentPages(app: Hono<WebEnv>, deps: Deps, runtime: Runtime): void {
  void runtime;
  app.get('/operations/incidents', async (c) => {
    const ctx = pageContext(c);
    authorize(ctx.principal, ops.listIncidents);
    const filter = filterOf(c);
    return sendPage(c, <ListPage ctx={ctx} filter={filter} incidents={(await listIncidents(deps, filter)).items} />);
  });

  app.post('/operations/incidents', async (c) => {
    const ctx = pageContext(c);
    authorize(ctx.principal, ops.createIncident);
    const form = (await textForm(c)) as Form;
    try {
      const input = parseInput(IncidentRequest, { title: form.title, severity: form.severity, flow: optional(form.flow), partner: optional(form.partner), api: optional(form.api), startedAt: optional(form.startedAt), summary: optional(form.summary) }, { detail: 'Invalid incident' });
      const incident = await openIncident(deps, ctx.principal, input);
      return c.redirect(`/console/operations/incidents/${incident.id}?done=opened`, 303);
    } catch (error) {
      if (!(error instanceof AccordError)) throw error;
      return sendPage(c, <ListPage ctx={ctx} filter={{}} incidents={(await listIncidents(deps)).items} error={error} form={form} />, error.status);
    }
  });

  app.get('/operations/incidents/:id', async (c) => {
    const ctx = pageContext(c);
    authorize(ctx.principal, ops.getIncident);
    const done = c.req.query('done');
    if (done !== undefined && !Object.hasOwn(DONE, done)) throw new AccordError('bad_request', 'Unknown confirmation', { errors: [{ location: 'done', message: `must be one of ${Object.keys(DONE).join(', ')}` }] });
    return sendPage(c, <DetailPage ctx={ctx} detail={await incidentDetail(deps, c.req.param('id'))} done={done as Done | undefined} />);
  });

  app.get('/operations/incidents/:id/markdown', async (c) => {
    const ctx = pageContext(c);
    authorize(ctx.principal, ops.getIncident);
    const detail = await incidentDetail(deps, c.req.param('id'));
    return c.body(incidentMarkdown(detail, deps.config.publicUrl), 200, { 'Content-Type': 'text/markdown; charset=utf-8', 'Content-Disposition': `attachment; filename="${detail.ref}.md"` });
  });

  app.post('/operations/incidents/:id/postmortem', async (c) => {
    const ctx = pageContext(c);
    authorize(ctx.principal, ops.putIncidentPostmortem);
    const form = (await textForm(c)) as Form;
    const id = c.req.param('id');
    try {
      await writePostmortem(deps, ctx.principal, id, parseInput(PostmortemRequest, postmortemInput(form), { detail: 'Invalid postmortem' }));
    } catch (error) {
      if (!(error instanceof AccordError) || error.code === 'not_found') throw error;
      return sendPage(c, <DetailPage ctx={ctx} detail={await incidentDetail(deps, id)} error={error} errorAt="postmortem" form={form} />, error.status);
    }
    return c.redirect(`/console/operations/incidents/${id}?done=written#postmortem`, 303);
  });

  app.post('/operations/incidents/:id/close', async (c) => {
    const ctx = pageContext(c);
    authorize(ctx.principal, ops.closeIncident);
    const id = c.req.param('id');
    try {
      await closeIncident(deps, ctx.principal, id);
    } catch (error) {
      if (!(error instanceof AccordError) || error.code === 'not_found') throw error;
      return sendPage(c, <DetailPage ctx={ctx} detail={await incidentDetail(deps, id)} error={error} errorAt="close" />, error.status);
    }
    return c.redirect(`/console/operations/incidents/${id}?done=closed`, 303);
  });
}
