import { Time } from '../components/time.tsx';
import { pageParam } from '../query.ts';
import type { Hono } from 'hono';
import type { Child } from 'hono/jsx';
import type { Principal } from '../../auth/principal.ts';
import { releasesOfVersions } from '../../changes/releases.ts';
import type { Deps } from '../../deps.ts';
import { getDocument, getVersion, listContracts, listVersionPage, loadContractDocument, type ContractVersionView } from '../../contracts/versions.ts';
import { compareRegisteredVersions, VersionPair, type SecondOpinion } from '../../diff/service.ts';
import { parseInput } from '../../lib/validate.ts';
import { deprecationOf } from '../../notices/notices.ts';
import { ApiReference } from '../components/api-reference.tsx';
import { DiffView } from '../components/diff-view.tsx';
import { Layout, type PageContext } from '../layout.tsx';
import { pageContext, sendPage, type WebEnv } from '../types.ts';
import { APIS_PER_PAGE, VERSIONS_PER_PAGE, SELECT_VERSIONS, type Release, type Deprecation, reader, checkPage, apiPath, versionPath, StateBadge, Pagination, Breadcrumb, ReleaseList, DeprecationText, CompareForm } from './contracts/parts.tsx';
import { TableWrap } from '../components/table-wrap.tsx';

/** APIs listed per page of /contracts, and versions per page of an API. */

function ContractsPage(props: { ctx: PageContext; apis: Awaited<ReturnType<typeof listContracts>>["items"]; page: number; pages: number; total: number; partner?: string }) {
  const byPartner = new Map<string, Awaited<ReturnType<typeof listContracts>>["items"]>();
  for (const a of props.apis) byPartner.set(a.partner, [...(byPartner.get(a.partner) ?? []), a]);
  const query = (page: number) => `/console/contracts?${new URLSearchParams({ ...(props.partner ? { partner: props.partner } : {}), page: String(page) })}`;
  return (
    <Layout title={props.partner ? `Contracts of ${props.partner}` : 'Contracts'} ctx={props.ctx}>
      <p>
        {`${props.total} API${props.total === 1 ? '' : 's'}`}
        {props.ctx.principal.role === 'partner' ? ' you can see: your own, and the published versions of the other partners’.' : ', grouped by partner.'}
        {props.partner && <> <a href="/console/contracts">Show every partner</a></>}
      </p>
      {props.total === 0 && <p>No contracts are registered{props.partner ? ' for this partner' : ''} yet.</p>}
      {[...byPartner].map(([partner, apis], i) => (
        <section aria-labelledby={`partner-${i}`}>
          <h2 id={`partner-${i}`}>{partner}</h2>
          <TableWrap label={`APIs of ${partner}`}>
            <table>
              <thead>
                <tr>
                  <th scope="col">API</th>
                  <th scope="col">Latest version</th>
                  <th scope="col">Versions</th>
                </tr>
              </thead>
              <tbody>
                {apis.map((a) => (
                  <tr>
                    <th scope="row">
                      <a href={apiPath(a.partner, a.api)}>{a.api}</a>
                    </th>
                    <td>
                      <a href={versionPath(a.partner, a.api, a.latestVersion)} aria-label={`${a.partner}/${a.api} ${a.latestVersion}`}>
                        {a.latestVersion}
                      </a>
                    </td>
                    <td>{a.versionCount}</td>
                  </tr>
                ))}
              </tbody>
            </table>
          </TableWrap>
        </section>
      ))}
      <Pagination page={props.page} pages={props.pages} href={query} label="Pages of APIs" />
    </Layout>
  );
}

function ApiPage(props: {
  ctx: PageContext;
  partner: string;
  api: string;
  rows: ContractVersionView[];
  previous: Map<string, string>;
  releases: Map<string, Release[]>;
  deprecations: Map<string, Deprecation | undefined>;
  total: number;
  page: number;
  pages: number;
  compareVersions: string[] | undefined;
}) {
  const { partner, api } = props;
  return (
    <Layout title={`${partner}/${api}`} ctx={props.ctx}>
      <Breadcrumb partner={partner} api={api} />
      <p>{`${props.total} version${props.total === 1 ? '' : 's'}${props.ctx.principal.role === 'partner' && props.ctx.principal.partner !== partner ? ' published' : ''}, newest first.`}</p>
      <section aria-labelledby="compare-heading" class="panel">
        <h2 id="compare-heading">Compare any two versions</h2>
        <CompareForm partner={partner} api={api} versions={props.compareVersions} />
      </section>
      <section aria-labelledby="versions-heading">
        <h2 id="versions-heading">Versions</h2>
        <TableWrap label="Versions">
          <table>
            <thead>
              <tr>
                <th scope="col">Version</th>
                <th scope="col">State</th>
                <th scope="col">Released to</th>
                <th scope="col">Deprecation and sunset</th>
                <th scope="col">Registered</th>
                <th scope="col">Changes</th>
              </tr>
            </thead>
            <tbody>
              {props.rows.map((v) => {
                const previous = props.previous.get(v.version);
                return (
                  <tr>
                    <th scope="row">
                      <a href={versionPath(partner, api, v.version)}>{v.version}</a>
                    </th>
                    <td>
                      <StateBadge state={v.state} />
                    </td>
                    <td>
                      <ReleaseList releases={props.releases.get(v.version) ?? []} />
                    </td>
                    <td>
                      <DeprecationText partner={partner} api={api} deprecation={props.deprecations.get(v.version)} />
                    </td>
                    <td>
                      <Time at={v.createdAt} /> <span class="muted">by {v.createdBy}</span>
                    </td>
                    <td>
                      {previous ? (
                        <a href={`${apiPath(partner, api)}/compare?${new URLSearchParams({ from: previous, to: v.version })}`}>{`Changes since ${previous}`}</a>
                      ) : (
                        <span class="muted">First version</span>
                      )}
                    </td>
                  </tr>
                );
              })}
            </tbody>
          </table>
        </TableWrap>
        <Pagination page={props.page} pages={props.pages} href={(p) => `${apiPath(partner, api)}?page=${p}`} label="Pages of versions" />
      </section>
    </Layout>
  );
}

function VersionPage(props: { ctx: PageContext; row: ContractVersionView; releases: Release[]; deprecation: Deprecation | undefined; document: unknown }) {
  const { row } = props;
  const base = versionPath(row.partner, row.api, row.version);
  return (
    <Layout title={`${row.partner}/${row.api} ${row.version}`} ctx={props.ctx}>
      <Breadcrumb partner={row.partner} api={row.api} version={row.version} />
      <section aria-labelledby="facts-heading">
        <h2 id="facts-heading">Facts</h2>
        <dl class="facts">
          <dt>State</dt>
          <dd>
            <StateBadge state={row.state} />
          </dd>
          <dt>SHA-256</dt>
          <dd>
            <code class="hash">{row.sha256}</code>
          </dd>
          <dt>Registered</dt>
          <dd>
            <Time at={row.createdAt} /> by {row.createdBy}
          </dd>
          <dt>Git commit</dt>
          <dd>
            <code class="hash">{row.commit}</code>
          </dd>
          <dt>Released to</dt>
          <dd>
            <ReleaseList releases={props.releases} />
          </dd>
          <dt>Deprecation</dt>
          <dd>
            <DeprecationText partner={row.partner} api={row.api} deprecation={props.deprecation} />
            {props.deprecation && <p>{`Reason: ${props.deprecation.reason}`}</p>}
          </dd>
        </dl>
      </section>
      <section aria-labelledby="downloads-heading">
        <h2 id="downloads-heading">Downloads and comparisons</h2>
        <ul>
          <li>
            <a href={`${base}/openapi.yaml`} download>{`Download openapi.yaml (the document as stored, sha256 ${row.sha256.slice(0, 12)}…)`}</a>
          </li>
          <li>
            <a href={`${base}/openapi.json`} download>Download openapi.json (the same document as JSON)</a>
          </li>
          <li>
            <a href={apiPath(row.partner, row.api)}>{`All versions of ${row.partner}/${row.api}, and compare any two`}</a>
          </li>
        </ul>
      </section>
      <ApiReference document={props.document} />
    </Layout>
  );
}

/** What openapi-diff's second opinion came to, in words. */
function secondOpinionText(o: SecondOpinion): string {
  if (o.status === 'ok') return `openapi-diff answered in ${o.durationMs} ms and added ${o.reported ?? 0} finding${o.reported === 1 ? '' : 's'} Accord’s rules do not cover (shown as warnings).`;
  if (o.status === 'timeout') return `openapi-diff did not answer within ${o.durationMs} ms; only Accord’s rules are shown.`;
  if (o.status === 'failed') return `openapi-diff failed (${o.error}); only Accord’s rules are shown.`;
  return `openapi-diff was skipped (${o.reason}); only Accord’s rules are shown.`;
}

function ComparePage(props: { ctx: PageContext; partner: string; api: string; from: string; to: string; secondOpinion?: SecondOpinion; compareVersions: string[] | undefined; view: Child }) {
  const { partner, api } = props;
  return (
    <Layout title={`${partner}/${api}: ${props.from} → ${props.to}`} ctx={props.ctx}>
      <Breadcrumb partner={partner} api={api} />
      <details class="panel">
        <summary>Compare other versions</summary>
        <CompareForm partner={partner} api={api} versions={props.compareVersions} from={props.from} to={props.to} secondOpinion={props.secondOpinion !== undefined} />
      </details>
      <p>
        <a href={versionPath(partner, api, props.from)}>{`Version ${props.from}`}</a> · <a href={versionPath(partner, api, props.to)}>{`Version ${props.to}`}</a>
      </p>
      {props.secondOpinion && <p>{`Second opinion: ${secondOpinionText(props.secondOpinion)}`}</p>}
      {props.view}
    </Layout>
  );
}

/** The version names the compare form offers (newest first), or undefined when there are too many for a <select>. */
async function compareChoices(deps: Deps, principal: Principal, partner: string, api: string, knownTotal?: number): Promise<string[] | undefined> {
  if (knownTotal !== undefined && knownTotal > SELECT_VERSIONS) return undefined;
  const { rows, total } = await listVersionPage(deps, principal, partner, api, { offset: 0, limit: SELECT_VERSIONS });
  return total > SELECT_VERSIONS ? undefined : rows.map((r) => r.version);
}

/** Headers of a document download: its type, a file name and "save, do not show". */
function downloadHeaders(type: string, name: string): Record<string, string> {
  return { 'Content-Type': type, 'Content-Disposition': `attachment; filename="${name}"`, 'Cache-Control': 'private, no-cache' };
}

/** The console's contracts pages (mounted under /console). */
export function registerContractsPages(app: Hono<WebEnv>, deps: Deps): void {
  app.get('/contracts', async (c) => {
    const principal = reader(c);
    const partner = c.req.query('partner') || undefined;
    const page = pageParam(c.req.query('page'));
    const all = (await listContracts(deps, principal)).items.filter((a) => !partner || a.partner === partner);
    const pages = Math.max(1, Math.ceil(all.length / APIS_PER_PAGE));
    checkPage(page, pages);
    const apis = all.slice((page - 1) * APIS_PER_PAGE, page * APIS_PER_PAGE);
    return sendPage(c, <ContractsPage ctx={pageContext(c)} apis={apis} page={page} pages={pages} total={all.length} {...(partner ? { partner } : {})} />);
  });

  app.get('/contracts/:partner/:api', async (c) => {
    const principal = reader(c);
    const { partner, api } = c.req.param();
    const page = pageParam(c.req.query('page'));
    // One row more than the page: the oldest row's predecessor, for its "changes since" link.
    const { rows, total } = await listVersionPage(deps, principal, partner, api, { offset: (page - 1) * VERSIONS_PER_PAGE, limit: VERSIONS_PER_PAGE + 1 });
    const pages = Math.ceil(total / VERSIONS_PER_PAGE);
    checkPage(page, pages);
    const shown = rows.slice(0, VERSIONS_PER_PAGE);
    const previous = new Map(shown.flatMap((r, i) => (rows[i + 1] ? [[r.version, rows[i + 1]!.version] as const] : [])));
    const releases = new Map<string, Release[]>();
    for (const r of await releasesOfVersions(deps, partner, api, shown.map((v) => v.version))) releases.set(r.version, [...(releases.get(r.version) ?? []), r]);
    const deprecations = new Map(await Promise.all(shown.map(async (v) => [v.version, await deprecationOf(deps, partner, api, v.version)] as const)));
    return sendPage(
      c,
      <ApiPage
        ctx={pageContext(c)}
        partner={partner}
        api={api}
        rows={shown}
        previous={previous}
        releases={releases}
        deprecations={deprecations}
        total={total}
        page={page}
        pages={pages}
        compareVersions={await compareChoices(deps, principal, partner, api, total)}
      />,
    );
  });

  app.get('/contracts/:partner/:api/compare', async (c) => {
    const principal = reader(c);
    const { partner, api } = c.req.param();
    const secondOpinion = c.req.query('secondOpinion') === 'on';
    const { from, to } = parseInput(VersionPair, { from: c.req.query('from'), to: c.req.query('to') }, { detail: 'Pass both ?from= and ?to= versions', source: 'parameters' });
    const compared = await compareRegisteredVersions(deps, principal, partner, api, from, to, { secondOpinion });
    return sendPage(
      c,
      <ComparePage
        ctx={pageContext(c)}
        partner={partner}
        api={api}
        from={compared.from}
        to={compared.to}
        {...(compared.result.openapiDiff ? { secondOpinion: compared.result.openapiDiff } : {})}
        compareVersions={await compareChoices(deps, principal, partner, api)}
        view={<DiffView result={compared.result} base={compared.base} revision={compared.revision} fromVersion={compared.from} toVersion={compared.to} />}
      />,
    );
  });

  app.get('/contracts/:partner/:api/versions/:version', async (c) => {
    const principal = reader(c);
    const { partner, api, version } = c.req.param();
    const row = await getVersion(deps, principal, partner, api, version);
    const document = await loadContractDocument(deps, row);
    return sendPage(
      c,
      <VersionPage
        ctx={pageContext(c)}
        row={row}
        releases={await releasesOfVersions(deps, partner, api, [version])}
        deprecation={await deprecationOf(deps, partner, api, version)}
        document={document}
      />,
    );
  });

  app.get('/contracts/:partner/:api/versions/:version/openapi.yaml', async (c) => {
    const { partner, api, version } = c.req.param();
    const { yaml } = await getDocument(deps, reader(c), partner, api, version);
    return c.body(yaml, 200, downloadHeaders('application/yaml; charset=utf-8', `${partner}-${api}-${version}.openapi.yaml`));
  });

  app.get('/contracts/:partner/:api/versions/:version/openapi.json', async (c) => {
    const { partner, api, version } = c.req.param();
    const row = await getVersion(deps, reader(c), partner, api, version);
    const document = await loadContractDocument(deps, row);
    return c.body(`${JSON.stringify(document, null, 2)}\n`, 200, downloadHeaders('application/json', `${partner}-${api}-${version}.openapi.json`));
  });
}
