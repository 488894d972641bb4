import type { Context, Hono } from 'hono';
import type { Deps } from '../../../deps.ts';
import { AccordError } from '../../../errors.ts';
import { authorize, mayCall } from '../../../http/api.ts';
import { listFailureClusters as listFailureClustersOp } from '../../../http/operations/failure-clusters.ts';
import { compensateTransaction as compensateOp, getTransaction as getTransactionOp, listTransactions as listTransactionsOp, retryTransaction as retryOp } from '../../../http/operations/transactions.ts';
import { clusterKeyOf, clusterPath } from '../../../observability/failure-clusters.ts';
import { humanDuration, transactionTimeline, type TimelineEntry } from '../../../observability/transaction-path.ts';
import type { Runtime } from '../../../runtime/index.ts';
import { requestOperatorAction } from '../../../runtime/operator-actions.ts';
import { TERMINAL_STATES, TRANSACTION_STATES, type TransactionState } from '../../../runtime/saga/states.ts';
import { findTransaction, getTransaction, listTransactions, TransactionQuery, type TransactionView } from '../../../runtime/transaction-views.ts';
import { TableWrap } from '../../components/table-wrap.tsx';
import { Time } from '../../components/time.tsx';
import { CsrfField, Layout, type PageContext } from '../../layout.tsx';
import { pageContext, sendPage, type WebEnv } from '../../types.ts';
import { registerClusterPages } from './clusters.tsx';
import { OperationsNav } from './nav.tsx';
import { registerPartnerPages } from './partners.tsx';

const FILTERS = ['q', 'flow', 'partner', 'state', 'from', 'to'] as const;
type Filters = Partial<Record<(typeof FILTERS)[number], string>>;

const DONE: Record<string, string> = { retry: 'Retry requested: the engine retries the step that stopped.', compensate: 'Compensation requested: the engine compensates the completed steps.' };

/** The search form's values (empty ones left out). */
function filtersOf(c: Context<WebEnv>): Filters {
  const out: Filters = {};
  for (const name of FILTERS) {
    const value = c.req.query(name)?.trim();
    if (value) out[name] = value;
  }
  return out;
}

function stateBadge(state: string) {
  const tone = state === 'completed' ? 'ok' : state === 'needs-attention' ? 'danger' : state === 'compensated' || state === 'compensating' ? 'warn' : 'neutral';
  return <span class={`badge ${tone}`}>{state}</span>;
}

function SearchPage(props: { ctx: PageContext; filters: Filters; flows: string[]; result: Awaited<ReturnType<typeof listTransactions>>; searched: boolean }) {
  const { ctx, filters, result } = props;
  const states = filters.state?.split(',') ?? [];
  return (
    <Layout title="Transactions" ctx={ctx}>
      <OperationsNav ctx={ctx} />
      <form method="get" action="/console/operations/transactions" class="filters" aria-label="Find transactions">
        <div class="field">
          <label for="tx-q">Transaction id, correlation id, idempotency key or business key</label>
          <input id="tx-q" name="q" type="search" maxlength={512} value={filters.q ?? ''} />
        </div>
        <div class="field">
          <label for="tx-flow">Flow</label>
          <select id="tx-flow" name="flow">
            <option value="">Any</option>
            {[...new Set([...props.flows, ...(filters.flow ? [filters.flow] : [])])].map((f) => (
              <option value={f} selected={filters.flow === f}>
                {f}
              </option>
            ))}
          </select>
        </div>
        <div class="field">
          <label for="tx-partner">Partner</label>
          <input id="tx-partner" name="partner" type="text" maxlength={200} value={filters.partner ?? ''} />
        </div>
        <div class="field">
          <label for="tx-state">State</label>
          <select id="tx-state" name="state">
            <option value="">{props.searched ? 'Any' : 'Not finished'}</option>
            {TRANSACTION_STATES.map((s) => (
              <option value={s} selected={states.length === 1 && states[0] === s}>
                {s}
              </option>
            ))}
          </select>
        </div>
        <div class="field">
          <label for="tx-from">Created from (ISO 8601)</label>
          <input id="tx-from" name="from" type="text" placeholder="2026-12-01T00:00:00Z" value={filters.from ?? ''} />
        </div>
        <div class="field">
          <label for="tx-to">Created before (ISO 8601)</label>
          <input id="tx-to" name="to" type="text" placeholder="2026-12-02T00:00:00Z" value={filters.to ?? ''} />
        </div>
        <button type="submit">Search</button>
        {Object.keys(filters).length > 0 && (
          <a class="button secondary" href="/console/operations/transactions">
            Clear
          </a>
        )}
      </form>
      <p class="muted">
        {props.searched
          ? 'Every state unless one is chosen, newest first (at most 100).'
          : 'Transactions in flight or waiting for an operator, oldest change first (at most 100). Search by a key or a time range to see finished ones.'}{' '}
        A business key is the flow's business-key values joined with <code>|</code> (member-match: <code>birthDate|subscriberId</code>), in any case.
      </p>
      {result.transactions.length === 0 ? (
        <p role="status">No matching transactions.</p>
      ) : (
        <TableWrap label="Transactions found">
          <table>
            <caption class="muted">{`${result.transactions.length} transaction${result.transactions.length === 1 ? '' : 's'}`}</caption>
            <thead>
              <tr>
                <th scope="col">Transaction</th>
                <th scope="col">Flow</th>
                <th scope="col">Partner</th>
                <th scope="col">State</th>
                <th scope="col">Created</th>
                <th scope="col">Correlation id</th>
                <th scope="col">Business key</th>
                <th scope="col">Failure</th>
              </tr>
            </thead>
            <tbody>
              {result.transactions.map((t) => {
                const failure = t.failure as { step?: string; failureMode?: string } | null;
                return (
                  <tr>
                    <th scope="row">
                      <a href={`/console/operations/transactions/${encodeURIComponent(t.id)}`}>
                        <code>{t.id}</code>
                      </a>
                    </th>
                    <td>{t.flow}</td>
                    <td>{t.partner}</td>
                    <td>{stateBadge(t.state)}</td>
                    <td>
                      <Time at={t.createdAt} />
                    </td>
                    <td>
                      <code>{t.correlationId}</code>
                    </td>
                    <td>{t.businessKey ? <code>{t.businessKey}</code> : <span class="muted">—</span>}</td>
                    <td>{failure ? `${failure.step ?? ''} ${failure.failureMode ?? ''}`.trim() : ''}</td>
                  </tr>
                );
              })}
            </tbody>
          </table>
        </TableWrap>
      )}
    </Layout>
  );
}

function Timeline(props: { entries: TimelineEntry[] }) {
  if (props.entries.length === 0) return <p>Nothing has happened yet.</p>;
  return (
    <TableWrap label="Timeline">
      <table class="timeline">
        <caption class="muted">Every step attempt, partner answer, retry, compensation, operator action and event, in time order</caption>
        <thead>
          <tr>
            <th scope="col">Time (UTC)</th>
            <th scope="col">Since start</th>
            <th scope="col">Kind</th>
            <th scope="col">What</th>
            <th scope="col">Partner answer</th>
            <th scope="col">Took</th>
            <th scope="col">Detail</th>
          </tr>
        </thead>
        <tbody>
          {props.entries.map((e) => (
            <tr data-kind={e.kind}>
              <td>
                <time datetime={e.at}>{e.at.replace('T', ' ').slice(0, 23)}</time>
              </td>
              <td>+{humanDuration(e.sinceStartMs)}</td>
              <td>
                <span class="badge neutral">{e.kind}</span>
              </td>
              <td>{e.label}</td>
              <td>{e.kind === 'attempt' || (e.kind === 'compensation' && e.result !== undefined) ? `${e.status ?? 'no answer'} ${e.result ?? ''}`.trim() : ''}</td>
              <td>{humanDuration(e.durationMs)}</td>
              <td>{e.detail ?? ''}</td>
            </tr>
          ))}
        </tbody>
      </table>
    </TableWrap>
  );
}

function TransactionPage(props: { ctx: PageContext; view: TransactionView; error?: AccordError; done?: string; clusters: boolean }) {
  const { ctx, view } = props;
  const finished = TERMINAL_STATES.includes(view.state as TransactionState);
  const failure = view.failure as { step?: string; failureMode?: string; detail?: string } | null;
  const cluster = view.failure ? clusterKeyOf({ partner: view.partner, flow: view.flow, failure: JSON.stringify(view.failure) }) : undefined;
  const base = `/console/operations/transactions/${encodeURIComponent(view.id)}`;
  // A compensation awaiting approval is decided first (retry and compensate answer 409 meanwhile).
  const canRetry = !finished && view.awaitingApproval === null && view.mode !== 'sync' && mayCall(ctx.principal, retryOp);
  const canCompensate = !finished && view.awaitingApproval === null && mayCall(ctx.principal, compensateOp);
  return (
    <Layout title={`Transaction ${view.id}`} ctx={ctx}>
      <OperationsNav ctx={ctx} />
      <p>
        <a href="/console/operations/transactions">← Transactions</a>
      </p>
      <p>State: {stateBadge(view.state)}</p>
      {props.done && DONE[props.done] ? (
        <p class="notice-ok" role="status">
          {DONE[props.done]}
        </p>
      ) : null}
      {props.error ? (
        <div class="error" role="alert">
          <p>
            <strong>{props.error.status}</strong> {props.error.message}
          </p>
        </div>
      ) : null}
      <p>{view.where}</p>
      {view.awaitingApproval !== null ? (
        <p>
          <a href="/console/operations/compensations">Decide it among the compensations awaiting approval</a> (another operator than the one whose action led to it).
        </p>
      ) : null}
      <dl class="facts">
        <dt>Flow</dt>
        <dd>{view.flow}</dd>
        <dt>Partner</dt>
        <dd>
          {mayCall(ctx.principal, { method: 'get', path: '/v1/scorecards/{partner}' }) && (ctx.principal.role !== 'partner' || ctx.principal.partner === view.partner) ? (
            <a href={`/console/operations/partners/${encodeURIComponent(view.partner)}`}>{view.partner}</a>
          ) : (
            view.partner
          )}
        </dd>
        <dt>Contract version</dt>
        <dd>
          <a href={`/console/contracts/${encodeURIComponent(view.partner)}/${encodeURIComponent(view.api)}/versions/${encodeURIComponent(view.version)}`}>
            {view.api} {view.version}
          </a>
        </dd>
        <dt>Matrix version</dt>
        <dd>
          {view.matrixVersion !== null ? (
            <>
              <a href={`/console/matrix/${encodeURIComponent(view.flow)}?version=${view.matrixVersion}`}>
                {view.flow} v{view.matrixVersion}
              </a>{' '}
              <span class="muted">
                sha256 <code>{view.matrixSha256?.slice(0, 12)}</code>
              </span>
            </>
          ) : (
            <span class="muted">not recorded (started before Accord kept it)</span>
          )}
        </dd>
        <dt>Mode</dt>
        <dd>{view.mode === 'sync' ? 'direct request' : 'saga'}</dd>
        <dt>Trace id</dt>
        <dd>
          <code>{view.traceId}</code>
        </dd>
        <dt>Correlation id</dt>
        <dd>
          <code>{view.correlationId}</code>
        </dd>
        <dt>Idempotency key</dt>
        <dd>{view.idempotencyKey ? <code>{view.idempotencyKey}</code> : <span class="muted">none</span>}</dd>
        <dt>Business key</dt>
        <dd>{view.businessKey ? <code>{view.businessKey}</code> : <span class="muted">none</span>}</dd>
        <dt>Created</dt>
        <dd>
          <Time at={view.createdAt} />
        </dd>
        <dt>Finished</dt>
        <dd>{view.finishedAt ? <Time at={view.finishedAt} /> : <span class="muted">not yet</span>}</dd>
        <dt>Took</dt>
        <dd>{view.finishedAt ? humanDuration(Date.parse(view.finishedAt) - Date.parse(view.createdAt)) : ''}</dd>
        {failure ? (
          <>
            <dt>Failure</dt>
            <dd>
              {failure.step} {failure.failureMode ? <span class="badge danger">{failure.failureMode}</span> : null} {failure.detail ?? ''}
            </dd>
          </>
        ) : null}
      </dl>
      {cluster && props.clusters ? (
        <p>
          <a href={clusterPath(cluster)} rel="related">
            Other transactions of {view.partner} failing the same way
          </a>{' '}
          <span class="muted">
            ({cluster.step}, {cluster.failureMode}, {cluster.statusClass})
          </span>
        </p>
      ) : null}
      {canRetry || canCompensate ? (
        <section class="panel" aria-labelledby="actions">
          <h2 id="actions">Operator actions</h2>
          <p class="muted">Audited. The engine picks the action up at once.</p>
          {canRetry ? (
            <form class="inline" method="post" action={`${base}/retry`}>
              <CsrfField csrf={ctx.csrf} />
              <button type="submit">Retry the step that stopped</button>
            </form>
          ) : null}{' '}
          {canCompensate ? (
            <form class="inline" method="post" action={`${base}/compensate`}>
              <CsrfField csrf={ctx.csrf} />
              <button type="submit" class="secondary">
                {view.mode === 'sync' ? 'Close after review' : 'Compensate'}
              </button>
            </form>
          ) : null}
        </section>
      ) : null}
      <h2>Timeline</h2>
      <Timeline entries={transactionTimeline(view)} />
    </Layout>
  );
}

/** One transaction's path (search, timeline, operator actions) and, from there, failure clusters and the partner's cost view. */
export function registerTransactionPages(app: Hono<WebEnv>, deps: Deps, runtime: Runtime): void {
  app.get('/operations/transactions', async (c) => {
    const ctx = pageContext(c);
    authorize(ctx.principal, listTransactionsOp);
    const filters = filtersOf(c);
    const parsed = TransactionQuery.safeParse(filters);
    if (!parsed.success) throw new AccordError('bad_request', 'Invalid search', { errors: parsed.error.issues.map((i) => ({ location: i.path.join('.'), message: i.message })) });
    const result = await listTransactions(deps, ctx.principal, parsed.data);
    // One exact match of a key opens its transaction.
    if (filters.q && result.transactions.length === 1 && Object.keys(filters).length === 1) return c.redirect(`/console/operations/transactions/${encodeURIComponent(result.transactions[0]!.id)}`, 303);
    const flows = (await runtime.routes.allFlows()).map((f) => f.flow).sort();
    return sendPage(c, <SearchPage ctx={ctx} filters={filters} flows={flows} result={result} searched={Boolean(filters.q || filters.from || filters.to)} />);
  });

  app.get('/operations/transactions/:ref', async (c) => {
    const ctx = pageContext(c);
    authorize(ctx.principal, getTransactionOp);
    const view = await getTransaction(deps, ctx.principal, c.req.param('ref'), (id) => runtime.engine.inCall(id));
    const done = c.req.query('done');
    return sendPage(c, <TransactionPage ctx={ctx} view={view} done={done} clusters={mayCall(ctx.principal, listFailureClustersOp)} />);
  });

  for (const [operation, action] of [
    [retryOp, 'retry'],
    [compensateOp, 'compensate'],
  ] as const) {
    app.post(`/operations/transactions/:ref/${action}`, async (c) => {
      const ctx = pageContext(c);
      authorize(ctx.principal, operation);
      const ref = c.req.param('ref');
      try {
        const row = await requestOperatorAction(deps, ctx.principal, ref, action);
        await runtime.engine.kick(row.id);
        return c.redirect(`/console/operations/transactions/${encodeURIComponent(row.id)}?done=${action}`, 303);
      } catch (error) {
        if (!(error instanceof AccordError) || error.status === 404) throw error;
        const row = await findTransaction(deps, ctx.principal, ref);
        const view = await getTransaction(deps, ctx.principal, row.id, (id) => runtime.engine.inCall(id));
        return sendPage(c, <TransactionPage ctx={ctx} view={view} error={error} clusters={mayCall(ctx.principal, listFailureClustersOp)} />, error.status);
      }
    });
  }

  registerClusterPages(app, deps);
  registerPartnerPages(app, deps, runtime);
}
