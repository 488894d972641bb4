import type { Hono } from 'hono';
import type { Deps } from '../../deps.ts';
import { checkIds } from '../../contracts/ids.ts';
import { AccordError } from '../../errors.ts';
import { authorize } from '../../http/api.ts';
import * as op from '../../http/operations/notices.ts';
import { absoluteUrl } from '../../lib/public-url.ts';
import { listNotices } from '../../notices/notices.ts';
import { deprecatedApis, sunsetTimeline, type SunsetEntry } from '../../notices/timeline.ts';
import { Layout, type PageContext } from '../layout.tsx';
import { TableWrap } from '../components/table-wrap.tsx';
import { pageContext, sendPage, type WebEnv } from '../types.ts';

const DAY_MS = 86_400_000;
const RECENT_NOTICES = 20;

const MONTH = new Intl.DateTimeFormat('en-GB', { month: 'long', year: 'numeric', timeZone: 'UTC' });
const monthOf = (iso: string) => MONTH.format(new Date(iso));
const day = (iso: string) => iso.slice(0, 10);

/** Consecutive entries grouped by the month of their sunset (the list is already in order). */
function byMonth(entries: SunsetEntry[]): Array<{ month: string; entries: SunsetEntry[] }> {
  const groups: Array<{ month: string; entries: SunsetEntry[] }> = [];
  for (const e of entries) {
    const month = monthOf(e.sunset);
    if (groups.at(-1)?.month === month) groups.at(-1)!.entries.push(e);
    else groups.push({ month, entries: [e] });
  }
  return groups;
}

function DaysLeft(props: { sunset: string; now: Date }) {
  const days = Math.ceil((Date.parse(props.sunset) - props.now.getTime()) / DAY_MS);
  if (days <= 0) return <span class="badge danger">sunset reached</span>;
  return <span class={days <= 30 ? 'badge warn' : 'badge neutral'}>{days === 1 ? 'in 1 day' : `in ${days} days`}</span>;
}

function SunsetTable(props: { entries: SunsetEntry[]; now: Date; caption: string }) {
  return (
    <TableWrap label={props.caption}>
      <table>
        <caption class="muted">{props.caption}</caption>
        <thead>
          <tr>
            <th scope="col">Sunset</th>
            <th scope="col">Partner / API</th>
            <th scope="col">Version</th>
            <th scope="col">Deprecated on</th>
            <th scope="col">Successor</th>
            <th scope="col">Reason</th>
            <th scope="col">Days left</th>
          </tr>
        </thead>
        <tbody>
          {props.entries.map((e) => (
            <tr>
              <td>
                <time datetime={e.sunset}>{day(e.sunset)}</time>
              </td>
              <th scope="row">
                {e.partner} / {e.api}
              </th>
              <td>
                {e.version} <span class="muted">({e.state})</span>
              </td>
              <td>
                <time datetime={e.deprecatedAt}>{day(e.deprecatedAt)}</time>
              </td>
              <td>{e.successor ?? <span class="muted">none named</span>}</td>
              <td>{e.reason}</td>
              <td>
                <DaysLeft sunset={e.sunset} now={props.now} />
              </td>
            </tr>
          ))}
        </tbody>
      </table>
    </TableWrap>
  );
}

/** Reads an optional partner or API id from the query; an invalid one is a 400. */
function idParam(value: string | undefined, name: string): string | undefined {
  if (value === undefined || value === '') return undefined;
  const errors = checkIds({ [name]: value });
  if (errors.length > 0) throw new AccordError('bad_request', `?${name} is not a valid ${name} id`, { errors });
  return value;
}

async function NoticesPage(props: { deps: Deps; ctx: PageContext; partner?: string; api?: string }) {
  const { deps, ctx, partner, api } = props;
  const now = deps.clock();
  const timeline = await sunsetTimeline(deps, ctx.principal, { partner, api });
  const choices = await deprecatedApis(deps, ctx.principal);
  const notices = (await listNotices(deps, ctx.principal, { limit: RECENT_NOTICES })).items;
  const feed = absoluteUrl(deps.config, '/v1/notices.atom');
  const filtered = partner || api ? ` for ${[partner, api].filter(Boolean).join(' / ')}` : '';
  return (
    <Layout title="Notices and deprecations" ctx={ctx} head={<link rel="alternate" type="application/atom+xml" title="Accord notices" href={feed} />}>
      <p>
        Deprecated versions and their sunsets{ctx.principal.role === 'partner' ? ' that your token may read through the API' : ''}: after its sunset a version is retired and the
        exchange answers 410.
      </p>
      <form method="get" action="/console/notices" class="filters" aria-label="Filter the timeline">
        <div class="field">
          <label for="filter-partner">Partner</label>
          <select id="filter-partner" name="partner">
            <option value="">All partners</option>
            {choices.partners.map((p) => (
              <option value={p} selected={p === partner}>
                {p}
              </option>
            ))}
          </select>
        </div>
        <div class="field">
          <label for="filter-api">API</label>
          <select id="filter-api" name="api">
            <option value="">All APIs</option>
            {choices.apis.map((a) => (
              <option value={a} selected={a === api}>
                {a}
              </option>
            ))}
          </select>
        </div>
        <button type="submit">Show</button>
        {filtered && (
          <a class="button secondary" href="/console/notices">
            Clear the filter
          </a>
        )}
      </form>

      <section aria-labelledby="upcoming">
        <h2 id="upcoming">Upcoming sunsets{filtered}</h2>
        {timeline.upcoming.length === 0 && <p class="muted">No upcoming sunsets.</p>}
        {byMonth(timeline.upcoming).map((group) => (
          <section aria-label={group.month}>
            <h3>{group.month}</h3>
            <SunsetTable entries={group.entries} now={now} caption={`Sunsets in ${group.month}, soonest first`} />
          </section>
        ))}
        {timeline.moreUpcoming && <p class="muted">Only the {timeline.upcoming.length} soonest are shown; filter by partner or API to see the others.</p>}
      </section>

      <section aria-labelledby="past">
        <h2 id="past">Sunset reached{filtered}</h2>
        {timeline.past.length === 0 ? (
          <p class="muted">No version has reached its sunset.</p>
        ) : (
          <SunsetTable entries={timeline.past} now={now} caption="Versions past their sunset, most recent first" />
        )}
        {timeline.morePast && <p class="muted">Only the {timeline.past.length} most recent are shown; filter by partner or API to see older ones.</p>}
      </section>

      <section aria-labelledby="recent">
        <h2 id="recent">Recent notices</h2>
        <p class="muted">The {RECENT_NOTICES} newest notices {ctx.principal.role === 'partner' ? 'that concern your organisation' : 'of the network'}: deprecations, breaking releases, sunsets.</p>
        {notices.length === 0 ? (
          <p class="muted">No notices yet.</p>
        ) : (
          <ul class="notices">
            {notices.map((n) => (
              <li id={`notice-${n.id}`}>
                <span class="badge neutral">{n.kind}</span> <strong>{n.title}</strong> <time datetime={n.createdAt}>{day(n.createdAt)}</time>
                <p>{n.body}</p>
              </li>
            ))}
          </ul>
        )}
      </section>

      <section class="panel" aria-labelledby="feed">
        <h2 id="feed">Atom feed</h2>
        <p>
          The same notices as an Atom 1.0 feed: <a href={feed}>{feed}</a>
        </p>
        <p>
          The feed needs a token like every Accord API call: configure your feed reader to send the header <code>Authorization: Bearer &lt;token&gt;</code>. A reader
          that cannot send headers may add <code>?token=&lt;token&gt;</code> to the feed's URL — the only URL that accepts a token, and only one limited to the{' '}
          <code>notices:read</code> scope alone. Ask an administrator for such a token (with an expiry) for the reader rather than using your own; a partner's token
          gives the partner's notices only.
        </p>
      </section>
    </Layout>
  );
}

/** The console's notices pages (mounted under /console): the sunset timeline, recent notices and the Atom feed link. */
export function registerNoticesPages(app: Hono<WebEnv>, deps: Deps): void {
  app.get('/notices', (c) => {
    const ctx = pageContext(c);
    // What GET /v1/notices needs (the `notices:read` scope): the page shows the same notices.
    authorize(ctx.principal, op.listNotices);
    const partner = idParam(c.req.query('partner'), 'partner');
    const api = idParam(c.req.query('api'), 'api');
    return sendPage(c, <NoticesPage deps={deps} ctx={ctx} partner={partner} api={api} />);
  });
}
