import type { Hono } from 'hono';
import type { AuditVerification } from '../../audit/log.ts';
import { AUDIT_SCAN_WINDOW, searchAudit, verifyAuditLog, type AuditFilter, type AuditPage } from '../../audit/search.ts';
import type { Deps } from '../../deps.ts';
import { AccordError } from '../../errors.ts';
import { authorize } from '../../http/api.ts';
import { listAudit } from '../../http/operations/audit.ts';
import { CsrfField, Layout, type PageContext } from '../layout.tsx';
import { TableWrap } from '../components/table-wrap.tsx';
import { pageContext, sendPage, type WebEnv } from '../types.ts';

const OUTCOMES = ['ok', 'refused', 'error'] as const;
const TEXT_FILTERS = ['actor', 'action', 'target'] as const;
const DETAIL_SHOWN = 300;
const PROBLEMS_SHOWN = 20;

function isDay(value: string): boolean {
  return /^\d{4}-\d{2}-\d{2}$/.test(value) && !Number.isNaN(Date.parse(`${value}T00:00:00Z`)) && new Date(`${value}T00:00:00Z`).toISOString().startsWith(value);
}

/** The filters of the query string; a malformed one is a 400 naming it. */
function parseFilter(query: (name: string) => string | undefined): AuditFilter {
  const filter: AuditFilter = {};
  const errors: Array<{ location: string; message: string }> = [];
  for (const name of TEXT_FILTERS) {
    const value = query(name)?.trim();
    if (!value) continue;
    if (value.length > 200) errors.push({ location: name, message: 'at most 200 characters' });
    else filter[name] = value;
  }
  const outcome = query('outcome');
  if (outcome) {
    if ((OUTCOMES as readonly string[]).includes(outcome)) filter.outcome = outcome as AuditFilter['outcome'];
    else errors.push({ location: 'outcome', message: 'ok, refused or error' });
  }
  for (const name of ['from', 'to'] as const) {
    const value = query(name);
    if (!value) continue;
    if (isDay(value)) filter[name] = value;
    else errors.push({ location: name, message: 'a date, YYYY-MM-DD' });
  }
  if (filter.from && filter.to && filter.from > filter.to) errors.push({ location: 'to', message: 'must not be before "from"' });
  const before = query('before');
  if (before) {
    if (/^[1-9]\d{0,15}$/.test(before) && Number.isSafeInteger(Number(before))) filter.before = Number(before);
    else errors.push({ location: 'before', message: 'an entry number (a positive integer)' });
  }
  if (errors.length > 0) throw new AccordError('bad_request', 'Invalid search', { errors });
  return filter;
}

/** The page's URL for the filters with another `before`. */
function pageHref(filter: AuditFilter, before?: number): string {
  const q = new URLSearchParams();
  for (const name of [...TEXT_FILTERS, 'outcome', 'from', 'to'] as const) if (filter[name]) q.set(name, filter[name]!);
  if (before !== undefined) q.set('before', String(before));
  const s = q.toString();
  return s ? `/console/audit?${s}` : '/console/audit';
}

function VerificationResult(props: { result: AuditVerification; at: Date }) {
  const { result } = props;
  const a = result.anchor;
  return (
    <div class={result.ok ? 'notice-ok' : 'error'} role="status">
      <p>
        <strong>{result.ok ? 'Audit log intact' : 'Audit log verification FAILED'}</strong> (verified <time datetime={props.at.toISOString()}>{props.at.toISOString()}</time>):{' '}
        {result.checked} entries checked ({result.legacy.count} unkeyed from before the upgrade, {result.checked - result.legacy.count} keyed); head: entry {result.head.seq}.
      </p>
      <p>
        {a ? (
          <>
            Anchor {a.commit.slice(0, 12)} written <time datetime={a.writtenAt}>{a.writtenAt}</time> covers {a.count} entries up to entry {a.head.seq}; {result.unanchored}{' '}
            newer {result.unanchored === 1 ? 'entry is' : 'entries are'} not anchored yet.
          </>
        ) : (
          'No trusted anchor.'
        )}{' '}
        Audit key id {result.keyId}.
      </p>
      {a?.reanchored && (
        <p>
          An operator re-established this anchor (replacing {a.reanchored.replaced ?? 'no anchor'}): {a.reanchored.reason}
        </p>
      )}
      {result.problems.length > 0 && (
        <ul>
          {result.problems.slice(0, PROBLEMS_SHOWN).map((p) => (
            <li>
              {p.seq ? `Entry ${p.seq}: ` : ''}
              {p.message}
            </li>
          ))}
          {result.problems.length > PROBLEMS_SHOWN && <li>and {result.problems.length - PROBLEMS_SHOWN} more problems: run <code>accord audit verify</code> for the full list</li>}
        </ul>
      )}
    </div>
  );
}

function detailText(detail: string): string {
  return detail.length > DETAIL_SHOWN ? `${detail.slice(0, DETAIL_SHOWN)}…` : detail;
}

function AuditLogPage(props: { ctx: PageContext; filter: AuditFilter; page: AuditPage; verification?: { result: AuditVerification; at: Date } }) {
  const { ctx, filter, page } = props;
  const filtered = TEXT_FILTERS.some((n) => filter[n]) || filter.outcome || filter.from || filter.to;
  return (
    <Layout title="Audit log" ctx={ctx}>
      <section class="panel" aria-labelledby="verify">
        <h2 id="verify">Verification</h2>
        {props.verification ? (
          <VerificationResult result={props.verification.result} at={props.verification.at} />
        ) : (
          <p>Checks every entry's HMAC and link with the audit key against the latest anchor in the registry, as <code>accord audit verify</code> does. It reads the whole log, so it runs only when you ask.</p>
        )}
        <form method="post" action="/console/audit/verify">
          <CsrfField csrf={ctx.csrf} />
          <button type="submit">Verify now</button>
        </form>
      </section>

      <h2 id="search">Search</h2>
      <form method="get" action="/console/audit" class="filters" aria-labelledby="search">
        <div class="field">
          <label for="audit-actor">Actor contains</label>
          <input id="audit-actor" name="actor" type="search" value={filter.actor ?? ''} maxlength={200} />
        </div>
        <div class="field">
          <label for="audit-action">Action contains</label>
          <input id="audit-action" name="action" type="search" value={filter.action ?? ''} maxlength={200} />
        </div>
        <div class="field">
          <label for="audit-target">Target contains</label>
          <input id="audit-target" name="target" type="search" value={filter.target ?? ''} maxlength={200} />
        </div>
        <div class="field">
          <label for="audit-outcome">Outcome</label>
          <select id="audit-outcome" name="outcome">
            <option value="">Any</option>
            {OUTCOMES.map((o) => (
              <option value={o} selected={filter.outcome === o}>
                {o}
              </option>
            ))}
          </select>
        </div>
        <div class="field">
          <label for="audit-from">From (UTC day)</label>
          <input id="audit-from" name="from" type="date" value={filter.from ?? ''} />
        </div>
        <div class="field">
          <label for="audit-to">To (UTC day, included)</label>
          <input id="audit-to" name="to" type="date" value={filter.to ?? ''} />
        </div>
        <button type="submit">Search</button>
        {filtered && (
          <a class="button secondary" href="/console/audit">
            Clear the search
          </a>
        )}
      </form>
      <p class="muted">
        Newest first, 50 per page. Each page reads at most {AUDIT_SCAN_WINDOW.toLocaleString('en')} consecutive entries (dates narrow that range first), so a rare match may
        need "Search older entries".
      </p>

      {page.entries.length === 0 ? (
        <p>{page.searched ? `No matching entries among entries ${page.searched.from}–${page.searched.to}.` : 'No matching entries.'}</p>
      ) : (
        <TableWrap label="Audit log entries">
          <table>
            <caption class="muted">{`Entries ${page.entries[0]!.seq} to ${page.entries.at(-1)!.seq} that match, newest first`}</caption>
            <thead>
              <tr>
                <th scope="col">Entry</th>
                <th scope="col">Time (UTC)</th>
                <th scope="col">Actor</th>
                <th scope="col">Action</th>
                <th scope="col">Target</th>
                <th scope="col">Outcome</th>
                <th scope="col">Detail</th>
              </tr>
            </thead>
            <tbody>
              {page.entries.map((e) => (
                <tr>
                  <th scope="row">{e.seq}</th>
                  <td>
                    <time datetime={e.at}>{e.at.replace('T', ' ').slice(0, 19)}</time>
                  </td>
                  <td>
                    {e.actor} <span class="muted">({e.role})</span>
                  </td>
                  <td>
                    <code>{e.action}</code>
                  </td>
                  <td>
                    <code>{e.target}</code>
                  </td>
                  <td>
                    <span class={e.outcome === 'ok' ? 'badge ok' : e.outcome === 'refused' ? 'badge warn' : 'badge danger'}>{e.outcome}</span>
                  </td>
                  <td>
                    <code class="detail">{detailText(e.detail)}</code>
                  </td>
                </tr>
              ))}
            </tbody>
          </table>
        </TableWrap>
      )}
      <nav class="pagination" aria-label="Audit log pages">
        {filter.before !== undefined && <a href={pageHref(filter)}>Newest entries</a>}
        {page.next !== undefined && (
          <a href={pageHref(filter, page.next)}>{page.windowEnded ? `Search older entries (before entry ${page.next})` : `Older entries (before entry ${page.next})`}</a>
        )}
      </nav>
    </Layout>
  );
}

/** The console's audit pages (mounted under /console): the searchable log and its on-demand verification, for whoever may read the log through the API. */
export function registerAuditPages(app: Hono<WebEnv>, deps: Deps): void {
  app.get('/audit', async (c) => {
    const ctx = pageContext(c);
    authorize(ctx.principal, listAudit);
    const filter = parseFilter((name) => c.req.query(name));
    return sendPage(c, <AuditLogPage ctx={ctx} filter={filter} page={await searchAudit(deps, filter)} />);
  });
  app.post('/audit/verify', async (c) => {
    const ctx = pageContext(c);
    authorize(ctx.principal, listAudit);
    const result = await verifyAuditLog(deps);
    return sendPage(c, <AuditLogPage ctx={ctx} filter={{}} page={await searchAudit(deps, {})} verification={{ result, at: deps.clock() }} />);
  });
}
