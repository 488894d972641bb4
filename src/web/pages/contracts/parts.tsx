import { Time } from '../../components/time.tsx';
import type { Context } from 'hono';
import type { Principal } from '../../../auth/principal.ts';
import { releasesOfVersions } from '../../../changes/releases.ts';
import { AccordError } from '../../../errors.ts';
import { deprecationOf } from '../../../notices/notices.ts';
import { pageContext, type WebEnv } from '../../types.ts';
import { authorize } from '../../../http/api.ts';
import { listContracts } from '../../../http/operations/contracts.ts';

/** Pieces the contracts pages share: paths, paging, badges, breadcrumbs, releases, deprecations, the compare form. */

export const APIS_PER_PAGE = 100;
export const VERSIONS_PER_PAGE = 50;
/** Up to this many versions the compare form offers <select>s; beyond, text fields. */
export const SELECT_VERSIONS = 500;

const STATE_BADGE: Record<string, string> = { draft: 'neutral', approved: 'pending', released: 'ok', deprecated: 'warn', retired: 'neutral' };

export type Release = Awaited<ReturnType<typeof releasesOfVersions>>[number];
export type Deprecation = NonNullable<Awaited<ReturnType<typeof deprecationOf>>>;

/** The signed-in principal, once it may read contracts as the API lets it (GET /v1/contracts). */
export function reader(c: Context<WebEnv>): Principal {
  const principal = pageContext(c).principal;
  authorize(principal, listContracts);
  return principal;
}

/** 404 for a page past the last one (page 1 always exists). */
export function checkPage(page: number, pages: number): void {
  if (page > 1 && page > pages) throw new AccordError('not_found', `There is no page ${page}; there ${pages === 1 ? 'is 1 page' : `are ${pages} pages`}`);
}

export const apiPath = (partner: string, api: string) => `/console/contracts/${encodeURIComponent(partner)}/${encodeURIComponent(api)}`;
export const versionPath = (partner: string, api: string, version: string) => `${apiPath(partner, api)}/versions/${encodeURIComponent(version)}`;

export function StateBadge(props: { state: string }) {
  return <span class={`badge ${STATE_BADGE[props.state] ?? 'neutral'}`}>{props.state.charAt(0).toUpperCase() + props.state.slice(1)}</span>;
}

export function Pagination(props: { page: number; pages: number; href: (page: number) => string; label: string }) {
  if (props.pages <= 1) return null;
  return (
    <nav class="pagination" aria-label={props.label}>
      {props.page > 1 && <a href={props.href(props.page - 1)} rel="prev">Previous page</a>}
      <span>{`Page ${props.page} of ${props.pages}`}</span>
      {props.page < props.pages && <a href={props.href(props.page + 1)} rel="next">Next page</a>}
    </nav>
  );
}

export function Breadcrumb(props: { partner: string; api?: string; version?: string }) {
  return (
    <nav aria-label="Breadcrumb" class="breadcrumb">
      <ol>
        <li><a href="/console/contracts">Contracts</a></li>
        <li><a href={`/console/contracts?partner=${encodeURIComponent(props.partner)}`}>{props.partner}</a></li>
        {props.api && <li>{props.version ? <a href={apiPath(props.partner, props.api)}>{props.api}</a> : <span aria-current="page">{props.api}</span>}</li>}
        {props.api && props.version && <li><span aria-current="page">{props.version}</span></li>}
      </ol>
    </nav>
  );
}

export function ReleaseList(props: { releases: Release[] }) {
  if (props.releases.length === 0) return <span class="muted">Not released to an environment</span>;
  return (
    <ul class="plain">
      {props.releases.map((r) => (
        <li>
          <strong>{r.environment}</strong> on <Time at={r.createdAt} /> <span class="muted">by {r.createdBy}</span>
        </li>
      ))}
    </ul>
  );
}

export function DeprecationText(props: { partner: string; api: string; deprecation: Deprecation | undefined }) {
  const d = props.deprecation;
  if (!d) return <span class="muted">Not deprecated</span>;
  return (
    <span>
      Deprecated on <Time at={d.deprecatedAt} />; sunset <Time at={d.sunset} />
      {d.successor && <>; successor <a href={versionPath(props.partner, props.api, d.successor)}>{d.successor}</a></>}
    </span>
  );
}

/** The "compare any two versions" form: two <select>s (text fields when the API has very many versions). */
export function CompareForm(props: { partner: string; api: string; versions: string[] | undefined; from?: string; to?: string; secondOpinion?: boolean }) {
  const { versions } = props;
  const from = props.from ?? versions?.[1] ?? versions?.[0];
  const to = props.to ?? versions?.[0];
  const field = (id: string, name: string, label: string, selected: string | undefined) => (
    <div class="field">
      <label for={id}>{label}</label>
      {versions ? (
        <select id={id} name={name}>
          {versions.map((v) => (
            <option value={v} selected={v === selected}>
              {v}
            </option>
          ))}
        </select>
      ) : (
        <input id={id} name={name} type="text" value={selected ?? ''} required autocomplete="off" spellcheck={false} />
      )}
    </div>
  );
  return (
    <form method="get" action={`${apiPath(props.partner, props.api)}/compare`} class="compare">
      {field('compare-from', 'from', 'From version (before)', from)}
      {field('compare-to', 'to', 'To version (after)', to)}
      <div class="field checkbox">
        <input id="compare-second-opinion" name="secondOpinion" type="checkbox" value="on" checked={props.secondOpinion} />
        <label for="compare-second-opinion">Also ask openapi-diff for a second opinion (slower)</label>
      </div>
      <button type="submit">Compare</button>
    </form>
  );
}
