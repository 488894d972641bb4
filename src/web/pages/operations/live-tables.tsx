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
export async function LiveTables(props: { deps: Deps; runtime: Runtime }) {
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
  const rules = (flow: string) => flows.get(flow)?.rules as Array<{ metric: string; above: unknown; percentile?: number }> | undefined;
  const targets = (flow: string) => flows.get(flow)?.targets as Record<string, unknown> | undefined;
  return (
    <>
      <LiveTable id="degraded" title="Degraded routes" empty="No partner route is degraded." columns={['Partner / flow', 'Why', 'SLA target', 'Current value', 'Intervention in force', 'Transactions']} rows={views.degradedRoutes.length}>
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
              <Tail interventions={interventionsOf(row.flow, row.partner)} href={consoleList({ flow: row.flow, partner: row.partner })} />
            </tr>
          );
        })}
      </LiveTable>
      <LiveTable id="stuck" title="Stuck transaction types" empty="No transaction type is stuck (unchanged for 5 minutes)." columns={['Flow / state', 'SLA target (time to finalise)', 'Current value', 'Intervention in force', 'Transactions']} rows={views.stuckTransactionTypes.length}>
        {views.stuckTransactionTypes.map((r) => (
          <tr>
            <th scope="row">
              {r.flow} / {r.state}
            </th>
            <td>{targetText(targets(r.flow), rules(r.flow), 'timeToFinalize')}</td>
            <td>
              {r.n} stuck, oldest unchanged since <Time at={r.oldest} />
            </td>
            <Tail interventions={interventionsOf(r.flow)} href={consoleList({ flow: r.flow, state: r.state })} />
          </tr>
        ))}
      </LiveTable>
      <LiveTable id="retries" title="Accumulating retries" empty="No step is retrying." columns={['Partner / flow / step', 'SLA target (time to acknowledge)', 'Current value', 'Intervention in force', 'Transactions']} rows={views.accumulatingRetries.length}>
        {views.accumulatingRetries.map((r) => (
          <tr>
            <th scope="row">
              {r.partner} / {r.flow} / {r.step}
            </th>
            <td>{targetText(targets(r.flow), rules(r.flow), 'timeToAcknowledge')}</td>
            <td>
              {r.n} retrying, up to {r.maxAttempts} attempts; {current(r.flow, r.partner, 'timeToAcknowledge')}
            </td>
            <Tail interventions={interventionsOf(r.flow, r.partner)} href={consoleList({ flow: r.flow, partner: r.partner })} />
          </tr>
        ))}
      </LiveTable>
    </>
  );
}

/** One live table: its heading, what it says when empty, and its rows (children) under the column headers. */
function LiveTable(props: { id: string; title: string; empty: string; columns: string[]; rows: number; children?: unknown }) {
  return (
    <section aria-labelledby={props.id}>
      <h2 id={props.id}>{props.title}</h2>
      {props.rows === 0 ? (
        <p class="muted">{props.empty}</p>
      ) : (
        <TableWrap label={props.title}>
          <table>
            <thead>
              <tr>
                {props.columns.map((c) => (
                  <th scope="col">{c}</th>
                ))}
              </tr>
            </thead>
            <tbody>{props.children}</tbody>
          </table>
        </TableWrap>
      )}
    </section>
  );
}

/** The cells every live row ends with: the SLA interventions in force and the link to the transactions behind the row. */
function Tail(props: { interventions: string[]; href: string }) {
  return (
    <>
      <td>{props.interventions.length ? <span>{props.interventions.join('; ')}</span> : <span class="muted">none</span>}</td>
      <td>
        <a href={props.href}>Transactions</a>
      </td>
    </>
  );
}

function consoleList(params: Record<string, string>): string {
  return `/console/operations/transactions?${new URLSearchParams(params)}`;
}
