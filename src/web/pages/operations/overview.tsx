import type { Hono } from 'hono';
import type { Deps } from '../../../deps.ts';
import { AccordError } from '../../../errors.ts';
import { authorize, mayCall } from '../../../http/api.ts';
import { getOpsOverview } from '../../../http/operations/ops-overview.ts';
import { getOperatorViews } from '../../../http/operations/operator-views.ts';
import { OVERVIEW_WINDOWS, OVERVIEW_WINDOW_NAMES, readOverview, type Overview, type OverviewWindow } from '../../../observability/ops-overview.ts';
import type { Runtime } from '../../../runtime/index.ts';
import { TableWrap } from '../../components/table-wrap.tsx';
import { Time } from '../../components/time.tsx';
import { Layout, type PageContext } from '../../layout.tsx';
import { pageContext, sendPage, type WebEnv } from '../../types.ts';
import { formatValue } from './format.ts';
import { LiveTables } from './live-tables.tsx';
import { OperationsNav } from './nav.tsx';

type Chart = Overview['charts'][number];

/** Chart geometry (SVG user units; the SVG scales to its container). */
const W = 640;
const H = 200;
const PAD = { left: 56, right: 12, top: 12, bottom: 40 };
const COLOURS: Record<string, string> = { value: '#0b5cad', p50: '#0b5cad', p95: '#9a5b00', p99: '#a4161a' };
const COLOUR_NAMES: Record<string, string> = { p50: 'blue', p95: 'amber', p99: 'red' };

/** A bucket start as an axis label: the time of day for minute and hour buckets, the date for days. */
function tick(iso: string, tier: string): string {
  return tier === 'day' ? iso.slice(5, 10) : tier === 'hour' ? `${iso.slice(5, 10)} ${iso.slice(11, 16)}` : iso.slice(11, 16);
}

/** The chart's summary for screen readers: the window, and the total per series. */
function summary(chart: Chart, overview: Overview): string {
  const totals = Object.entries(chart.total)
    .filter(([k]) => k !== 'samples')
    .map(([k, v]) => `${k === 'value' ? 'total' : k} ${formatValue(v, ['duplicates', 'accepted', 'refused', 'matched', 'attempts'].includes(k) ? 'count' : chart.unit)}`)
    .join(', ');
  return `${chart.title}, ${OVERVIEW_WINDOWS[overview.window].label} per ${overview.tier}: ${totals || 'no data'}.`;
}

/** One chart as server-drawn SVG: axes with labels, one polyline per series (gaps where nothing was measured), a legend, and its data as a table. */
function ChartFigure(props: { chart: Chart; overview: Overview; id: string }) {
  const { chart, overview } = props;
  const points = chart.series[0]?.points ?? [];
  const n = points.length;
  const values = chart.series.flatMap((s) => s.points.map((p) => p[1])).filter((v): v is number => v !== null);
  const top = chart.unit === 'ratio' ? 1 : Math.max(values.length ? Math.max(...values) : 0, chart.unit === 'count' ? 1 : 0.001);
  const x = (i: number) => PAD.left + (n <= 1 ? 0 : (i * (W - PAD.left - PAD.right)) / (n - 1));
  const y = (v: number) => PAD.top + (H - PAD.top - PAD.bottom) * (1 - v / top);
  const segments = (series: Chart['series'][number]) => {
    const out: string[][] = [[]];
    series.points.forEach(([, v], i) => {
      if (v === null) out.push([]);
      else out.at(-1)!.push(`${x(i).toFixed(1)},${y(v).toFixed(1)}`);
    });
    return out.filter((s) => s.length > 0);
  };
  const ticks = n === 0 ? [] : [...new Set([0, Math.floor((n - 1) / 2), n - 1])];
  const yUnit = chart.unit === 'ratio' ? 'share' : chart.unit === 'seconds' ? 'seconds' : 'count';
  return (
    <figure class="chart" aria-labelledby={`${props.id}-title`}>
      <figcaption id={`${props.id}-title`}>
        <strong>{chart.title}</strong>
        <span class="muted"> · total {summaryTotal(chart)}</span>
      </figcaption>
      <svg viewBox={`0 0 ${W} ${H}`} width="100%" role="img" aria-label={summary(chart, overview)} preserveAspectRatio="xMidYMid meet">
        <line x1={PAD.left} y1={H - PAD.bottom} x2={W - PAD.right} y2={H - PAD.bottom} stroke="#57606a" stroke-width="1" />
        <line x1={PAD.left} y1={PAD.top} x2={PAD.left} y2={H - PAD.bottom} stroke="#57606a" stroke-width="1" />
        <text x={PAD.left - 6} y={PAD.top + 4} text-anchor="end" font-size="11" fill="#24292f">
          {formatValue(top, chart.unit)}
        </text>
        <text x={PAD.left - 6} y={H - PAD.bottom} text-anchor="end" font-size="11" fill="#24292f">
          0
        </text>
        {ticks.map((i) => (
          <text x={x(i)} y={H - PAD.bottom + 14} text-anchor={i === 0 ? 'start' : i === n - 1 ? 'end' : 'middle'} font-size="11" fill="#24292f">
            {tick(points[i]![0], overview.tier)}
          </text>
        ))}
        <text x={(PAD.left + W - PAD.right) / 2} y={H - 6} text-anchor="middle" font-size="11" fill="#24292f">
          {`Time (UTC, per ${overview.tier})`}
        </text>
        <text x={12} y={(PAD.top + H - PAD.bottom) / 2} text-anchor="middle" font-size="11" fill="#24292f" transform={`rotate(-90 12 ${(PAD.top + H - PAD.bottom) / 2})`}>
          {yUnit}
        </text>
        {chart.series.map((s) =>
          segments(s).map((seg) => (seg.length === 1 ? <circle cx={seg[0]!.split(',')[0]} cy={seg[0]!.split(',')[1]} r="2" fill={COLOURS[s.name] ?? '#0b5cad'} /> : <polyline points={seg.join(' ')} fill="none" stroke={COLOURS[s.name] ?? '#0b5cad'} stroke-width="1.5" />)),
        )}
      </svg>
      {chart.series.length > 1 && (
        <p class="legend muted">
          {chart.series.map((s) => `${s.name}: ${COLOUR_NAMES[s.name] ?? 'blue'} line`).join(' · ')}
        </p>
      )}
      <p>
        <a href={overview.links.console}>Transactions behind this chart</a>
      </p>
      <details>
        <summary>Data of this chart</summary>
        <TableWrap label={`${chart.title}: data`}>
          <table>
            <thead>
              <tr>
                <th scope="col">Bucket (UTC)</th>
                {chart.series.map((s) => (
                  <th scope="col">{s.name}</th>
                ))}
              </tr>
            </thead>
            <tbody>
              {points.map((p, i) => (
                <tr>
                  <th scope="row">{`${p[0].slice(0, 16).replace('T', ' ')}`}</th>
                  {chart.series.map((s) => (
                    <td>{formatValue(s.points[i]![1], chart.unit)}</td>
                  ))}
                </tr>
              ))}
            </tbody>
          </table>
        </TableWrap>
      </details>
    </figure>
  );
}

function summaryTotal(chart: Chart): string {
  if (chart.unit === 'seconds') return chart.total.samples ? `p50 ${formatValue(chart.total.p50, 'seconds')}, p95 ${formatValue(chart.total.p95, 'seconds')}, p99 ${formatValue(chart.total.p99, 'seconds')}` : 'no samples';
  return formatValue(chart.total.value, chart.unit);
}

async function OverviewPage(props: { deps: Deps; runtime: Runtime; ctx: PageContext; window: OverviewWindow; flow?: string; partner?: string }) {
  const { deps, runtime, ctx } = props;
  const principal = ctx.principal;
  const overview = await readOverview(deps, { window: props.window, flow: props.flow, partner: props.partner });
  const staff = mayCall(principal, getOperatorViews);
  const choices = (await deps.db.$sql.all<{ flow: string; partner: string }>("SELECT DISTINCT flow, partner FROM ops_rollups WHERE tier = 'day'")).filter((r) => staff || r.partner === principal.partner);
  const flows = [...new Set(choices.map((c) => c.flow).filter((f) => f !== '*'))].sort();
  const partners = staff ? [...new Set(choices.map((c) => c.partner).filter((p) => p !== '*'))].sort() : [];
  const awaiting = overview.compensationsAwaitingApproval;
  return (
    <Layout title="Operations overview" ctx={ctx}>
      <OperationsNav ctx={ctx} />
      <form method="get" action="/console/operations" class="filters" aria-label="Window and filters">
        <div class="field">
          <label for="window">Window</label>
          <select id="window" name="window">
            {OVERVIEW_WINDOW_NAMES.map((w) => (
              <option value={w} selected={w === props.window}>
                {OVERVIEW_WINDOWS[w].label}
              </option>
            ))}
          </select>
        </div>
        <div class="field">
          <label for="flow">Flow</label>
          <select id="flow" name="flow">
            <option value="">All flows</option>
            {[...new Set([...flows, ...(props.flow ? [props.flow] : [])])].map((f) => (
              <option value={f} selected={f === props.flow}>
                {f}
              </option>
            ))}
          </select>
        </div>
        {staff ? (
          <div class="field">
            <label for="partner">Partner</label>
            <select id="partner" name="partner">
              <option value="">All partners</option>
              {[...new Set([...partners, ...(props.partner ? [props.partner] : [])])].map((p) => (
                <option value={p} selected={p === props.partner}>
                  {p}
                </option>
              ))}
            </select>
          </div>
        ) : (
          <p class="muted">Partner: {principal.partner}</p>
        )}
        <button type="submit">Show</button>
      </form>
      <p>
        <a href="/console/operations/compensations">
          {awaiting === 1 ? '1 compensation awaits approval' : `${awaiting} compensations await approval`}
        </a>
      </p>
      <section aria-labelledby="charts">
        <h2 id="charts">
          {`${OVERVIEW_WINDOWS[props.window].label[0]!.toUpperCase()}${OVERVIEW_WINDOWS[props.window].label.slice(1)}`}
          {props.flow ? ` · ${props.flow}` : ''}
          {props.partner ? ` · ${props.partner}` : ''}
        </h2>
        <p class="muted">
          From <Time at={overview.from} /> to <Time at={overview.to} />, per {overview.tier}, from the persisted rollups.
        </p>
        <div class="charts">
          {overview.charts.map((chart) => (
            <ChartFigure chart={chart} overview={overview} id={`chart-${chart.metric}`} />
          ))}
        </div>
      </section>
      {staff && <LiveTables deps={deps} runtime={runtime} />}
    </Layout>
  );
}

/** A flow or partner id from the query (optional). */
function nameParam(value: string | undefined, name: string): string | undefined {
  if (value === undefined || value === '') return undefined;
  if (value.length > 200 || !/^[A-Za-z0-9._-]+$/.test(value)) throw new AccordError('bad_request', `?${name} is not a valid ${name} id`, { errors: [{ location: `query.${name}`, message: 'letters, digits, ".", "_" and "-", at most 200' }] });
  return value;
}

/**
 * The operations overview at /console/operations: window picker and flow/partner filters, the
 * rollup charts drawn as SVG on the server (no script), each linking to the transactions behind
 * it, the count of compensations awaiting approval, and (staff) the live tables.
 */
export function registerOverviewPages(app: Hono<WebEnv>, deps: Deps, runtime: Runtime): void {
  app.get('/operations', (c) => {
    const ctx = pageContext(c);
    // What GET /v1/operator/overview needs (observability:read): the page shows the same series.
    authorize(ctx.principal, getOpsOverview);
    const window = c.req.query('window') || 'PT1H';
    if (!(OVERVIEW_WINDOW_NAMES as string[]).includes(window)) throw new AccordError('bad_request', `?window must be one of ${OVERVIEW_WINDOW_NAMES.join(', ')}`, { errors: [{ location: 'query.window', message: `one of ${OVERVIEW_WINDOW_NAMES.join(', ')}` }] });
    const flow = nameParam(c.req.query('flow'), 'flow');
    let partner = nameParam(c.req.query('partner'), 'partner');
    if (ctx.principal.role === 'partner') {
      if (partner !== undefined && partner !== ctx.principal.partner) throw new AccordError('not_found', `No overview for ${partner}`);
      partner = ctx.principal.partner ?? undefined;
    }
    return sendPage(c, <OverviewPage deps={deps} runtime={runtime} ctx={ctx} window={window as OverviewWindow} flow={flow} partner={partner} />);
  });
}
