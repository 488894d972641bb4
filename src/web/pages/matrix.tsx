import { Time } from '../components/time.tsx';
import type { Hono } from 'hono';
import type { Deps } from '../../deps.ts';
import { diffMatrixVersions } from '../../diff/service.ts';
import { LEVEL_ORDER, type DiffResult } from '../../diff/types.ts';
import { AccordError } from '../../errors.ts';
import type { FlowEntry } from '../../matrix/checks.ts';
import { toRow } from '../../matrix/render.ts';
import { currentFlows, getMatrixDocument, listMatrixVersions, type MatrixVersionView } from '../../matrix/store.ts';
import { Layout, type PageContext } from '../layout.tsx';
import { TableWrap } from '../components/table-wrap.tsx';
import { pageContext, sendPage, type WebEnv } from '../types.ts';
import { Lines, retries, versionParam, EntryDetails } from './matrix/entry-details.tsx';
import { authorize } from '../../http/api.ts';
import { getControlMatrix } from '../../http/operations/matrix.ts';

function requireMatrixRead(ctx: PageContext): void {
  authorize(ctx.principal, getControlMatrix);
}

function MatrixTablePage(props: { ctx: PageContext; flows: Array<MatrixVersionView & { entry: FlowEntry }> }) {
  const { flows } = props;
  return (
    <Layout title="Control matrix" ctx={props.ctx}>
      <p>
        Each business flow's controls as registered now: how duplicates are detected, how steps are retried and undone, the SLA targets, who owns the flow and whom to
        escalate to. Open a flow for its failure modes, observability fields, versions and the diff between versions.
      </p>
      {flows.length === 0 ? (
        <p class="muted">No control-matrix entries are registered.</p>
      ) : (
        <TableWrap label="Control matrix table">
          <table>
            <caption class="muted">{`${flows.length} flows, latest version of each`}</caption>
            <thead>
              <tr>
                <th scope="col">Flow</th>
                <th scope="col">Idempotency</th>
                <th scope="col">Retries per step</th>
                <th scope="col">Compensation per step</th>
                <th scope="col">SLA targets</th>
                <th scope="col">Owner</th>
                <th scope="col">Escalation</th>
              </tr>
            </thead>
            <tbody>
              {flows.map((f) => {
                const row = toRow(f.entry, f.version);
                return (
                  <tr>
                    <th scope="row">
                      <a href={`/console/matrix/${encodeURIComponent(f.name)}`}>{f.entry.title}</a>
                      <br />
                      <code>{f.name}</code> <span class="muted">v{f.version}</span>
                    </th>
                    <td>
                      <Lines text={row.idempotency} />
                    </td>
                    <td>
                      <Lines text={f.entry.steps.map((s) => `${s.id}: ${retries(s, false)}`).join('\n')} />
                    </td>
                    <td>
                      <Lines text={f.entry.steps.map((s) => `${s.id} → ${s.compensation.operationId ?? s.compensation.strategy}`).join('\n')} />
                    </td>
                    <td>
                      <Lines text={row.sla} />
                    </td>
                    <td>{row.owner}</td>
                    <td>
                      <Lines text={row.escalation} />
                    </td>
                  </tr>
                );
              })}
            </tbody>
          </table>
        </TableWrap>
      )}
      <p class="muted">
        The same table for documents and spreadsheets: <code>GET /v1/control-matrix?format=md</code> (Markdown) or <code>?format=csv</code> with an API token.
      </p>
    </Layout>
  );
}

function MatrixDiff(props: { diff: DiffResult; from: number; to: number }) {
  const { diff } = props;
  const changes = [...diff.changes].sort((a, b) => LEVEL_ORDER[a.level] - LEVEL_ORDER[b.level]);
  return (
    <section aria-labelledby="diff" class="panel">
      <h2 id="diff">
        Changes from version {props.from} to version {props.to}
      </h2>
      <p>
        {diff.summary.breaking} breaking, {diff.summary.warning} to review, {diff.summary.info} informational.{' '}
        {diff.summary.breaking > 0 && <span class="badge breaking">weakens a guarantee</span>}
      </p>
      {changes.length === 0 ? (
        <p class="muted">The two versions do not differ in any control.</p>
      ) : (
        <ul class="changes">
          {changes.map((c) => (
            <li>
              <span class={c.level === 'breaking' ? 'badge breaking' : c.level === 'warning' ? 'badge warn' : 'badge neutral'}>
                {c.level === 'warning' ? 'review' : c.level}
              </span>{' '}
              {c.message} <code>{c.location}</code>
            </li>
          ))}
        </ul>
      )}
    </section>
  );
}

function VersionsTable(props: { flow: string; versions: MatrixVersionView[]; shown: number }) {
  const href = (query: string) => `/console/matrix/${encodeURIComponent(props.flow)}?${query}`;
  return (
    <TableWrap label="Versions">
      <table aria-labelledby="versions">
        <thead>
          <tr>
            <th scope="col">Version</th>
            <th scope="col">Status</th>
            <th scope="col">Stored</th>
            <th scope="col">By</th>
            <th scope="col">Commit</th>
            <th scope="col">Changes</th>
          </tr>
        </thead>
        <tbody>
          {[...props.versions].reverse().map((v) => (
            <tr>
              <th scope="row">
                {v.version === props.shown ? (
                  <>
                    {v.version} <span class="muted">(shown)</span>
                  </>
                ) : (
                  <a href={href(`version=${v.version}`)}>Version {v.version}</a>
                )}
              </th>
              <td>
                {v.status === 'approved' ? 'approved' : <span class="muted">{v.status}</span>}
                {v.breakGlass && <span class="badge breaking">break-glass</span>}
              </td>
              <td>
                <Time at={v.createdAt} />
              </td>
              <td>{v.createdBy}</td>
              <td>
                <code>{v.commit.slice(0, 12)}</code>
              </td>
              <td>{v.version > 1 ? <a href={href(`from=${v.version - 1}&to=${v.version}`)}>Changes from version {v.version - 1}</a> : <span class="muted">first version</span>}</td>
            </tr>
          ))}
        </tbody>
      </table>
    </TableWrap>
  );
}

interface FlowPageProps {
  ctx: PageContext;
  flow: string;
  versions: MatrixVersionView[];
  doc: MatrixVersionView & { entry: unknown };
  from?: number;
  to?: number;
  diff?: DiffResult;
}

function FlowPage(props: FlowPageProps) {
  const { flow, versions, doc, diff } = props;
  const entry = doc.entry as FlowEntry;
  // What governs is the newest approved version, not the newest stored one (a proposal may be newer).
  const latest = versions.filter((v) => v.status === 'approved').at(-1)?.version ?? versions.at(-1)!.version;
  const newest = versions.at(-1)!.version;
  const open = versions.filter((v) => v.status === 'proposed');
  const options = (name: string, selected: number) => (
    <select id={`compare-${name}`} name={name}>
      {versions.map((v) => (
        <option value={String(v.version)} selected={v.version === selected}>
          Version {v.version}
        </option>
      ))}
    </select>
  );
  return (
    <Layout title={`Flow: ${entry.title}`} ctx={props.ctx}>
      <p>
        <a href="/console/matrix">All flows</a> · <code>{flow}</code> version {doc.version}{' '}
        {doc.version === latest ? '(the latest)' : doc.status === 'approved' ? `(an older version; the latest is ${latest})` : `(${doc.status}; the approved version is ${latest})`}, stored{' '}
        <time datetime={doc.createdAt}>{doc.createdAt.slice(0, 10)}</time> by {doc.createdBy}
      </p>
      {open.length > 0 && (
        <p class="panel">
          Awaiting review (they govern nothing until approved):{' '}
          {open.map((v, i) => (
            <>
              {i > 0 && ', '}
              <a href={`/console/matrix/${encodeURIComponent(flow)}?${v.baseVersion === null ? `version=${v.version}` : `from=${v.baseVersion}&to=${v.version}`}`}>
                version {v.version}
              </a>{' '}
              by {v.createdBy}
            </>
          ))}
          . Approvers review them with <code>accord matrix approve {flow} &lt;version&gt;</code> or <code>POST /v1/control-matrix/{flow}/proposals/&lt;version&gt;/reviews</code>.
        </p>
      )}
      {diff && <MatrixDiff diff={diff} from={props.from!} to={props.to!} />}
      <EntryDetails entry={entry} />

      <h2 id="versions">Versions</h2>
      <VersionsTable flow={flow} versions={versions} shown={doc.version} />
      {versions.length > 1 && (
        <form method="get" action={`/console/matrix/${encodeURIComponent(flow)}`} class="filters" aria-label="Compare two versions">
          <div class="field">
            <label for="compare-from">From</label>
            {options('from', props.from ?? newest - 1)}
          </div>
          <div class="field">
            <label for="compare-to">To</label>
            {options('to', props.to ?? newest)}
          </div>
          <button type="submit">Compare</button>
        </form>
      )}
    </Layout>
  );
}

/** The console's control-matrix pages (mounted under /console): the table and one page per flow with versions and diffs. */
export function registerMatrixPages(app: Hono<WebEnv>, deps: Deps): void {
  app.get('/matrix', async (c) => {
    const ctx = pageContext(c);
    requireMatrixRead(ctx);
    return sendPage(c, <MatrixTablePage ctx={ctx} flows={await currentFlows(deps)} />);
  });
  app.get('/matrix/:flow', async (c) => {
    const ctx = pageContext(c);
    requireMatrixRead(ctx);
    const version = versionParam(c.req.query('version'), 'version');
    const from = versionParam(c.req.query('from'), 'from');
    const to = versionParam(c.req.query('to'), 'to');
    if ((from === undefined) !== (to === undefined)) {
      throw new AccordError('bad_request', 'Pass both ?from= and ?to= to compare two versions', { errors: [{ location: from === undefined ? 'from' : 'to', message: 'required' }] });
    }
    const flow = c.req.param('flow');
    const versions = (await listMatrixVersions(deps, flow)).items;
    const doc = await getMatrixDocument(deps, 'flow', flow, version);
    const diff = from !== undefined && to !== undefined ? await diffMatrixVersions(deps, flow, from, to) : undefined;
    return sendPage(c, <FlowPage ctx={ctx} flow={flow} versions={versions} doc={doc} from={from} to={to} diff={diff} />);
  });
}
