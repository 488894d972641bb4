import type { Hono } from 'hono';
import type { Deps } from '../../../deps.ts';
import { AccordError } from '../../../errors.ts';
import { authorize } from '../../../http/api.ts';
import { listFailureClusters as listFailureClustersOp } from '../../../http/operations/failure-clusters.ts';
import { clusterWithMembers, failureClusters, type ClusterQuery } from '../../../observability/failure-clusters.ts';
import { DURATION_PATTERN } from '../../../matrix/schema.ts';
import { TableWrap } from '../../components/table-wrap.tsx';
import { Time } from '../../components/time.tsx';
import { Layout, type PageContext } from '../../layout.tsx';
import { pageContext, sendPage, type WebEnv } from '../../types.ts';
import { OperationsNav } from './nav.tsx';

const FIELDS = ['partner', 'flow', 'step', 'failureMode', 'statusClass', 'window'] as const;
const WINDOWS = ['PT1H', 'PT24H', 'P7D', 'P30D'];
const DURATION = new RegExp(DURATION_PATTERN);

function queryOf(get: (name: string) => string | undefined): ClusterQuery {
  const query: ClusterQuery = {};
  for (const name of FIELDS) {
    const value = get(name)?.trim();
    if (!value) continue;
    if (value.length > 200) throw new AccordError('bad_request', 'Invalid filter', { errors: [{ location: name, message: 'at most 200 characters' }] });
    query[name] = value;
  }
  if (query.window && !DURATION.test(query.window)) throw new AccordError('bad_request', 'Invalid window', { errors: [{ location: 'window', message: 'an ISO 8601 duration such as P7D or PT1H' }] });
  return query;
}

function href(query: ClusterQuery): string {
  const params = new URLSearchParams(Object.entries(query).filter((e): e is [string, string] => typeof e[1] === 'string' && e[1] !== ''));
  const s = params.toString();
  return s ? `/console/operations/clusters?${s}` : '/console/operations/clusters';
}

function ClustersPage(props: { ctx: PageContext; query: ClusterQuery; result: Awaited<ReturnType<typeof failureClusters>>; members?: Awaited<ReturnType<typeof clusterWithMembers>>['members'] }) {
  const { ctx, query, result, members } = props;
  const one = Boolean(query.step || query.failureMode || query.statusClass);
  return (
    <Layout title="Failure clusters" ctx={ctx}>
      <OperationsNav ctx={ctx} />
      <form method="get" action="/console/operations/clusters" class="filters" aria-label="Filter failure clusters">
        <div class="field">
          <label for="cl-partner">Partner</label>
          <input id="cl-partner" name="partner" type="text" maxlength={200} value={query.partner ?? ''} />
        </div>
        <div class="field">
          <label for="cl-flow">Flow</label>
          <input id="cl-flow" name="flow" type="text" maxlength={200} value={query.flow ?? ''} />
        </div>
        <div class="field">
          <label for="cl-window">Window</label>
          <select id="cl-window" name="window">
            {[...new Set([...WINDOWS, result.window])].map((w) => (
              <option value={w} selected={w === result.window}>
                {w}
              </option>
            ))}
          </select>
        </div>
        <button type="submit">Show</button>
      </form>
      <p class="muted">
        Transactions that stopped with a failure, created between <Time at={result.from} /> and <Time at={result.to} />, grouped by partner, flow, step, failure mode and the status class of the
        partner's answer.
      </p>
      {one && members ? (
        <section aria-labelledby="cluster-members">
          <h2 id="cluster-members">
            {query.partner ?? 'Any partner'} · {query.step ?? 'any step'} · {query.failureMode ?? 'any failure mode'} · {query.statusClass ?? 'any status'}
          </h2>
          <p>
            <a href={href({ partner: query.partner, flow: query.flow, window: query.window })}>← All clusters{query.partner ? ` of ${query.partner}` : ''}</a>
          </p>
          {members.length === 0 ? (
            <p role="status">No transactions in this cluster in the window.</p>
          ) : (
            <TableWrap label="Transactions of this cluster">
              <table>
                <caption class="muted">{`${members.length} transaction${members.length === 1 ? '' : 's'}, newest first`}</caption>
                <thead>
                  <tr>
                    <th scope="col">Transaction</th>
                    <th scope="col">Flow</th>
                    <th scope="col">State</th>
                    <th scope="col">Created</th>
                  </tr>
                </thead>
                <tbody>
                  {members.map((m) => (
                    <tr>
                      <th scope="row">
                        <a href={`/console/operations/transactions/${encodeURIComponent(m.id)}`}>
                          <code>{m.id}</code>
                        </a>
                      </th>
                      <td>{m.flow}</td>
                      <td>{m.state}</td>
                      <td>
                        <Time at={m.createdAt} />
                      </td>
                    </tr>
                  ))}
                </tbody>
              </table>
            </TableWrap>
          )}
        </section>
      ) : result.clusters.length === 0 ? (
        <p role="status">No failures in the window.</p>
      ) : (
        <TableWrap label="Failure clusters">
          <table>
            <caption class="muted">Largest first</caption>
            <thead>
              <tr>
                <th scope="col">Partner</th>
                <th scope="col">Flow</th>
                <th scope="col">Step</th>
                <th scope="col">Failure mode</th>
                <th scope="col">Status</th>
                <th scope="col">Transactions</th>
                <th scope="col">First seen</th>
                <th scope="col">Last seen</th>
                <th scope="col">Samples</th>
              </tr>
            </thead>
            <tbody>
              {result.clusters.map((k) => (
                <tr>
                  <th scope="row">
                    <a href={`/console/operations/partners/${encodeURIComponent(k.partner)}`}>{k.partner}</a>
                  </th>
                  <td>{k.flow}</td>
                  <td>
                    {k.step}
                    {k.compensation ? ' (compensation)' : ''}
                  </td>
                  <td>{k.failureMode}</td>
                  <td>{k.statusClass}</td>
                  <td>
                    <a href={href({ partner: k.partner, flow: k.flow, step: k.step, failureMode: k.failureMode, statusClass: k.statusClass, window: query.window })}>{k.count}</a>
                  </td>
                  <td>
                    <Time at={k.firstSeen} />
                  </td>
                  <td>
                    <Time at={k.lastSeen} />
                  </td>
                  <td>
                    {k.sampleTransactionIds.map((id, i) => (
                      <>
                        {i > 0 ? ', ' : ''}
                        <a href={`/console/operations/transactions/${encodeURIComponent(id)}`}>
                          <code>{id.slice(0, 13)}</code>
                        </a>
                      </>
                    ))}
                  </td>
                </tr>
              ))}
            </tbody>
          </table>
        </TableWrap>
      )}
    </Layout>
  );
}

/** /console/operations/clusters: failure clusters (staff), and one cluster's transactions (?partner=&step=&failureMode=). */
export function registerClusterPages(app: Hono<WebEnv>, deps: Deps): void {
  app.get('/operations/clusters', async (c) => {
    const ctx = pageContext(c);
    authorize(ctx.principal, listFailureClustersOp);
    const query = queryOf((name) => c.req.query(name));
    const one = Boolean(query.step || query.failureMode || query.statusClass);
    // One cluster's page scans once: its transactions and its partner and flow's other clusters.
    const { members, ...result } = one ? await clusterWithMembers(deps, ctx.principal, query) : { ...(await failureClusters(deps, ctx.principal, query)), members: undefined };
    return sendPage(c, <ClustersPage ctx={ctx} query={query} result={result} members={members} />);
  });
}
