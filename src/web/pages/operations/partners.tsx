import type { Hono } from 'hono';
import type { Deps } from '../../../deps.ts';
import { authorize, mayCall } from '../../../http/api.ts';
import { listFailureClusters as listFailureClustersOp } from '../../../http/operations/failure-clusters.ts';
import { getScorecard as getScorecardOp } from '../../../http/operations/scorecards.ts';
import { scorecard } from '../../../observability/scorecards.ts';
import type { Runtime } from '../../../runtime/index.ts';
import { TableWrap } from '../../components/table-wrap.tsx';
import { Layout, type PageContext } from '../../layout.tsx';
import { pageContext, sendPage, type WebEnv } from '../../types.ts';
import { clusterPath } from '../../../observability/failure-clusters.ts';
import { OperationsNav } from './nav.tsx';
import { CertificationSection, registerCertificationPages } from './certifications.tsx';

const pct = (v: number | null) => (v === null ? '—' : `${Math.round(v * 1000) / 10}%`);
const money = (amount: number, currency: string) => new Intl.NumberFormat('en', { style: 'currency', currency }).format(amount);

function PartnerPage(props: { ctx: PageContext; card: Awaited<ReturnType<typeof scorecard>>; clusters: boolean }) {
  const { ctx, card } = props;
  const total = card.costs.reduce((a, m) => a + m.cost, 0);
  const currency = card.costs[0]?.currency ?? 'USD';
  return (
    <Layout title={`Partner ${card.partner}`} ctx={ctx}>
      <OperationsNav ctx={ctx} />
      <p>
        <a href={`/console/operations/transactions?partner=${encodeURIComponent(card.partner)}`}>Its transactions</a>
        {props.clusters ? (
          <>
            {' · '}
            <a href={clusterPath({ partner: card.partner })}>Its failure clusters</a>
          </>
        ) : null}
      </p>
      <h2 id="scorecard">Scorecard ({card.window})</h2>
      <dl class="facts">
        <dt>Acceptance</dt>
        <dd>
          {pct(card.acceptance.rate)} of {card.acceptance.transactions} (p95 {card.acceptance.latencyMs.p95 ?? '—'} ms)
        </dd>
        <dt>Duplicates</dt>
        <dd>
          {card.duplicates.duplicates} of {card.duplicates.requests} requests ({pct(card.duplicates.rate)}), {pct(card.duplicates.handledByReplay)} handled by replay
        </dd>
        <dt>Clear error codes</dt>
        <dd>{pct(card.errorTaxonomy.share)}</dd>
        <dt>Synthetic success</dt>
        <dd>{pct(card.synthetic.successRate)}</dd>
      </dl>
      <CertificationSection standing={card.certification} />
      <h2 id="costs">What its unreliability costs</h2>
      <p class="muted">
        Per calendar month (UTC): transactions that had to be compensated, manual interventions (operator retries, compensations and approval decisions) and duplicate requests handled, priced
        with the unit costs of the governance policy (<code>costs</code> in policy.yaml).
      </p>
      <TableWrap label="Costs per month">
        <table>
          <caption class="muted">{`Total ${money(total, currency)} over ${card.costs.length} months`}</caption>
          <thead>
            <tr>
              <th scope="col">Month</th>
              <th scope="col">Compensations</th>
              <th scope="col">Manual interventions</th>
              <th scope="col">Duplicates handled</th>
              <th scope="col">Cost</th>
            </tr>
          </thead>
          <tbody>
            {card.costs.map((m) => (
              <tr>
                <th scope="row">{m.month}</th>
                <td>{m.compensations}</td>
                <td>{m.manualInterventions}</td>
                <td>{m.duplicates}</td>
                <td>{money(m.cost, m.currency)}</td>
              </tr>
            ))}
          </tbody>
        </table>
      </TableWrap>
    </Layout>
  );
}

/** /console/operations/partners/{partner}: the partner's scorecard and cost view (a partner sees its own). */
export function registerPartnerPages(app: Hono<WebEnv>, deps: Deps, runtime: Runtime): void {
  app.get('/operations/partners/:partner', async (c) => {
    const ctx = pageContext(c);
    authorize(ctx.principal, getScorecardOp);
    const card = await scorecard(deps, runtime, ctx.principal, c.req.param('partner'));
    return sendPage(c, <PartnerPage ctx={ctx} card={card} clusters={mayCall(ctx.principal, listFailureClustersOp)} />);
  });
  registerCertificationPages(app, deps);
}
