import type { Principal } from '../../../auth/principal.ts';
import type { Deps } from '../../../deps.ts';
import { operatorViews } from '../../../observability/views.ts';
import type { Runtime } from '../../../runtime/index.ts';
import { TableWrap } from '../../components/table-wrap.tsx';
import { Time } from '../../components/time.tsx';
import { formatValue } from './format.ts';

/** The SLA target of a metric in a flow's `sla` targets, as text. */
function targetText(targets: Record<string, unknown> | undefined, rules: Array<{ metric: string; above: unknown; percentile?: number }> | undefined, metric: string): string {
  const target = targets?.[metric] as { target?: string; percentile?: number } | undefined;
  if (target?.target) return `p${target.percentile ?? 95} ≤ ${target.target}`;
  const rule = rules?.find((r) => r.metric === metric);
  if (rule) return `${rule.percentile ? `p${rule.percentile} ` : ''}≤ ${String(rule.above)}`;
  return 'none set';
}

/** The live tables: degraded routes, stuck transaction types, accumulating retries, each with the SLA target, the current value and the intervention in force. */
export async function LiveTables(props: { deps: Deps; runtime: Runtime; principal: Principal }) {
  const { deps, runtime } = props;
  const views = await operatorViews(deps, runtime);
  const sla = await runtime.sla.status();
  type SlaFlow = (typeof sla.flows)[number];
  const flows = new Map<string, SlaFlow>(sla.flows.map((f) => [f.flow, f]));
  const partnerOf = (flow: string, partner: string) => flows.get(flow)?.partners.find((p) => p.partner === partner);
  const interventionsOf = (flow: string, partner?: string) =>
    (flows.get(flow)?.partners ?? []).filter((p) => partner === undefined || p.partner === partner).flatMap((p) => p.interventions.map((i) => `${i.actions.join(', ')} (${i.metric}${partner === undefined ? `, ${p.partner}` : ''}, since ${i.startedAt.slice(0, 16).replace('T', ' ')} UTC)`));
  const current = (flow: string, partner: string, metric: string) => {
    const c = (partnerOf(flow, partner)?.current as Record<string, { value: number; samples: number; window: string; percentile?: number }> | undefined)?.[metric];
    if (!c || c.samples === 0) return 'no samples';
    return `${c.percentile ? `p${c.percentile} ` : ''}${formatValue(c.value, metric === 'errorRate' ? 'ratio' : 'seconds')} over ${c.window}`;
  };
  const InForce = (p: { list: string[] }) => (p.list.length ? <span>{p.list.join('; ')}</span> : <span class="muted">none</span>);
  const rules = (flow: string) => flows.get(flow)?.rules as Array<{ metric: string; above: unknown; percentile?: number }> | undefined;
  const targets = (flow: string) => flows.get(flow)?.targets as Record<string, unknown> | undefined;
  return (
    <>
      <section aria-labelledby="degraded">
        <h2 id="degraded">Degraded routes</h2>
        {views.degradedRoutes.length === 0 ? (
          <p class="muted">No partner route is degraded.</p>
        ) : (
          <TableWrap label="Degraded routes">
            <table>
              <thead>
                <tr>
                  <th scope="col">Partner / flow</th>
                  <th scope="col">Why</th>
                  <th scope="col">SLA target</th>
                  <th scope="col">Current value</th>
                  <th scope="col">Intervention in force</th>
                  <th scope="col">Transactions</th>
                </tr>
              </thead>
              <tbody>
                {views.degradedRoutes.map((r) => {
                  const row = r as { partner: string; flow: string; why: string; breaches?: Array<{ metric: string }>; step?: string; failureMode?: string; failuresLastHour?: number };
                  const metric = row.why === 'sla' ? (row.breaches?.[0]?.metric ?? partnerOf(row.flow, row.partner)?.interventions[0]?.metric ?? 'errorRate') : 'errorRate';
                  return (
                    <tr>
                      <th scope="row">
                        {row.partner} / {row.flow}
                      </th>
                      <td>{row.why === 'sla' ? `SLA breach (${metric})` : `${row.failuresLastHour} failures in the last hour at ${row.step ?? 'a step'} (${row.failureMode ?? 'unclassified'})`}</td>
                      <td>{targetText(targets(row.flow), rules(row.flow), metric)}</td>
                      <td>{current(row.flow, row.partner, metric)}</td>
                      <td>
                        <InForce list={interventionsOf(row.flow, row.partner)} />
                      </td>
                      <td>
                        <a href={consoleList({ flow: row.flow, partner: row.partner })}>Transactions</a>
                      </td>
                    </tr>
                  );
                })}
              </tbody>
            </table>
          </TableWrap>
        )}
      </section>
      <section aria-labelledby="stuck">
        <h2 id="stuck">Stuck transaction types</h2>
        {views.stuckTransactionTypes.length === 0 ? (
          <p class="muted">No transaction type is stuck (unchanged for 5 minutes).</p>
        ) : (
          <TableWrap label="Stuck transaction types">
            <table>
              <thead>
                <tr>
                  <th scope="col">Flow / state</th>
                  <th scope="col">SLA target (time to finalise)</th>
                  <th scope="col">Current value</th>
                  <th scope="col">Intervention in force</th>
                  <th scope="col">Transactions</th>
                </tr>
              </thead>
              <tbody>
                {views.stuckTransactionTypes.map((r) => (
                  <tr>
                    <th scope="row">
                      {r.flow} / {r.state}
                    </th>
                    <td>{targetText(targets(r.flow), rules(r.flow), 'timeToFinalize')}</td>
                    <td>
                      {r.n} stuck, oldest unchanged since <Time at={r.oldest} />
                    </td>
                    <td>
                      <InForce list={interventionsOf(r.flow)} />
                    </td>
                    <td>
                      <a href={consoleList({ flow: r.flow, state: r.state })}>Transactions</a>
                    </td>
                  </tr>
                ))}
              </tbody>
            </table>
          </TableWrap>
        )}
      </section>
      <section aria-labelledby="retries">
        <h2 id="retries">Accumulating retries</h2>
        {views.accumulatingRetries.length === 0 ? (
          <p class="muted">No step is retrying.</p>
        ) : (
          <TableWrap label="Accumulating retries">
            <table>
              <thead>
                <tr>
                  <th scope="col">Partner / flow / step</th>
                  <th scope="col">SLA target (time to acknowledge)</th>
                  <th scope="col">Current value</th>
                  <th scope="col">Intervention in force</th>
                  <th scope="col">Transactions</th>
                </tr>
              </thead>
              <tbody>
                {views.accumulatingRetries.map((r) => (
                  <tr>
                    <th scope="row">
                      {r.partner} / {r.flow} / {r.step}
                    </th>
                    <td>{targetText(targets(r.flow), rules(r.flow), 'timeToAcknowledge')}</td>
                    <td>
                      {r.n} retrying, up to {r.maxAttempts} attempts; {current(r.flow, r.partner, 'timeToAcknowledge')}
                    </td>
                    <td>
                      <InForce list={interventionsOf(r.flow, r.partner)} />
                    </td>
                    <td>
                      <a href={consoleList({ flow: r.flow, partner: r.partner })}>Transactions</a>
                    </td>
                  </tr>
                ))}
              </tbody>
            </table>
          </TableWrap>
        )}
      </section>
    </>
  );
}

function consoleList(params: Record<string, string>): string {
  return `/console/operations/transactions?${new URLSearchParams(params)}`;
}
