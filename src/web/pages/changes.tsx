import type { Context, Hono } from 'hono';
import { requireScope, type Principal } from '../../auth/principal.ts';
import type { Scope } from '../../auth/scopes.ts';
import { acknowledgeChange, reviewChange } from '../../changes/changes.ts';
import { acknowledgementInbox, changeQueue, mayReview, partnerChanges, QUEUE_TABS, queueStatus, type QueuePage, type QueueRow, type QueueTab } from '../../changes/queue.ts';
import { recordRelease } from '../../changes/releases.ts';
import { sameActor, changeAuthors } from '../../changes/separation.ts';
import { acknowledgementStatus, changeStatus, evidenceForChange, readChange, releasesOfChange, stillCounts, type AcknowledgementStatus, type ChangeContext, type ChangeEvidence } from '../../changes/view.ts';
import type { Deps } from '../../context.ts';
import { checkIds } from '../../contracts/ids.ts';
import { canSee, findVersion, loadContractDocument } from '../../contracts/versions.ts';
import type { DiffResult } from '../../diff/types.ts';
import { AccordError } from '../../errors.ts';
import { checkGate } from '../../gate/check.ts';
import type { GateFacts, Reason } from '../../gate/evaluate.ts';
import { DiffView } from '../components/diff-view.tsx';
import { TableWrap } from '../components/table-wrap.tsx';
import { CsrfField, ErrorBox, Layout, type PageContext } from '../layout.tsx';
import { pageContext, sendPage, type WebEnv } from '../types.ts';

/** Whether a token may use a scope (a token limited to scopes only those; otherwise what its role allows). */
const hasScope = (principal: Principal, scope: Scope) => !principal.scopes || principal.scopes.includes(scope);

const STATUS_WORDS: Record<ReturnType<typeof queueStatus>, [string, string]> = {
  review: ['Awaiting review', 'pending'],
  acks: ['Awaiting acknowledgements', 'pending'],
  ready: ['Ready to release', 'ok'],
  released: ['Released', 'neutral'],
  rejected: ['Rejected', 'fail'],
};

const TAB_TEXT: Record<QueueTab, { label: string; about: string }> = {
  review: { label: 'Awaiting review', about: 'Open change requests with fewer approvals than the policy requires.' },
  acks: { label: 'Awaiting acknowledgements', about: 'Open change requests with their approvals, still missing an acknowledgement from a consuming partner.' },
  ready: { label: 'Ready', about: 'Open change requests with their approvals and acknowledgements: what remains is evidence, the gate and the release.' },
  released: { label: 'Released', about: 'Change requests whose version was released (to any environment), deprecated or retired.' },
};
const MY_REVIEW = { label: 'Awaiting my review', about: 'Open change requests short of approvals that you may review: not opened by you, not of a version you registered, not reviewed by you yet.' };

/** A staff queue tab's label and what it holds, for this viewer. */
export function queueTabText(viewer: Principal, tab: QueueTab): { label: string; about: string } {
  return tab === 'review' && mayReview(viewer) ? MY_REVIEW : TAB_TEXT[tab];
}

const PARTNER_TABS = {
  inbox: { label: 'Awaiting your acknowledgement', about: 'Open change requests to other partners’ APIs your organisation consumes: each needs your acknowledgement of its diff before it can be released.' },
  own: { label: 'Your APIs', about: 'The newest change request of each version of your own APIs, in any state.' },
};
type PartnerTab = keyof typeof PARTNER_TABS;

const DONE = {
  approved: 'Your approval is recorded.',
  rejected: 'Your rejection is recorded.',
  acknowledged: 'Your acknowledgement is recorded.',
  'gate-checked': 'A gate decision is recorded for this environment; its verdict is the preview below.',
  released: 'The release is recorded.',
} as const satisfies Record<string, string>;
type Done = keyof typeof DONE;

/** Environments offered by the forms (any valid id may be typed into the URL). */
const ENVIRONMENTS = ['production', 'staging', 'sandbox'];

function Time(props: { at: string }) {
  return <time datetime={props.at}>{`${props.at.slice(0, 16).replace('T', ' ')} UTC`}</time>;
}

function age(now: Date, at: string): string {
  const days = Math.floor((now.getTime() - Date.parse(at)) / 86_400_000);
  return days <= 0 ? 'less than a day old' : days === 1 ? '1 day old' : `${days} days old`;
}

function pageParam(raw: string | undefined): number {
  if (raw === undefined) return 1;
  if (!/^[1-9]\d{0,5}$/.test(raw)) throw new AccordError('bad_request', 'page must be a whole number from 1', { errors: [{ location: 'page', message: 'must be a whole number from 1' }] });
  return Number(raw);
}

function environmentParam(raw: unknown): string {
  if (raw === undefined || raw === '') return 'production';
  const errors = checkIds({ environment: typeof raw === 'string' ? raw : undefined });
  if (errors.length > 0) throw new AccordError('bad_request', 'Unknown environment', { errors });
  return raw as string;
}

function StatusBadge(props: { row: Parameters<typeof queueStatus>[0] }) {
  const [words, tone] = STATUS_WORDS[queueStatus(props.row)];
  return <span class={`badge ${tone}`}>{words}</span>;
}

function ClassBadge(props: { breaking: boolean }) {
  return props.breaking ? <span class="badge breaking">breaking</span> : <span class="badge neutral">non-breaking</span>;
}

function QueueTable(props: { rows: QueueRow[]; caption: string }) {
  return (
    <TableWrap label={props.caption}>
      <table>
        <caption class="muted">{props.caption}</caption>
        <thead>
          <tr>
            <th scope="col">Change</th>
            <th scope="col">Class</th>
            <th scope="col">Summary</th>
            <th scope="col">Opened</th>
            <th scope="col">Approvals</th>
            <th scope="col">Acknowledgements</th>
            <th scope="col">Status</th>
          </tr>
        </thead>
        <tbody>
          {props.rows.map((r) => (
            <tr>
              <th scope="row">
                <a href={`/console/changes/${r.id}`}>{`${r.partner}/${r.api}@${r.version}`}</a>
              </th>
              <td>
                <ClassBadge breaking={r.breaking} />
              </td>
              <td>{r.summary}</td>
              <td>
                {r.createdBy}, <Time at={r.createdAt} />
              </td>
              <td>{`${r.approvals} of ${r.requiredApprovals}`}</td>
              <td>{r.requiredAcknowledgements === 0 ? 'none required' : `${r.acknowledgements} of ${r.requiredAcknowledgements}`}</td>
              <td>
                <StatusBadge row={r} />
              </td>
            </tr>
          ))}
        </tbody>
      </table>
    </TableWrap>
  );
}

function Pagination(props: { page: QueuePage; href: (page: number) => string }) {
  const { page, hasMore } = props.page;
  if (page === 1 && !hasMore) return null;
  return (
    <nav class="pagination" aria-label="Pages">
      {page > 1 && <a href={props.href(page - 1)}>Newer change requests</a>}
      <span>Page {page}</span>
      {hasMore && <a href={props.href(page + 1)}>Older change requests</a>}
    </nav>
  );
}

function QueuePageView(props: { ctx: PageContext; tabs: Array<{ id: string; label: string }>; current: string; about: string; list: QueuePage }) {
  const { ctx, list } = props;
  const label = props.tabs.find((t) => t.id === props.current)!.label;
  return (
    <Layout title="Change requests" ctx={ctx}>
      <nav aria-label="Change request queues">
        <ul class="tabs">
          {props.tabs.map((t) => (
            <li>
              <a href={`/console/changes?tab=${t.id}`} aria-current={t.id === props.current ? 'page' : undefined}>
                {t.label}
              </a>
            </li>
          ))}
        </ul>
      </nav>
      <p class="muted">{props.about}</p>
      {list.rows.length === 0 ? <p>{list.page === 1 ? 'No change requests here.' : 'No more change requests.'}</p> : <QueueTable rows={list.rows} caption={`${label}, newest first`} />}
      <Pagination page={list} href={(p) => `/console/changes?tab=${props.current}&page=${p}`} />
    </Layout>
  );
}

function ReasonList(props: { reasons: Reason[] }) {
  return (
    <ul class="reasons">
      {props.reasons.map((r) => (
        <li>
          <span class={`badge ${r.status}`}>{r.status}</span> <strong>{r.rule}</strong>: {r.message}
          {r.howToFix && r.status !== 'met' ? (
            <details>
              <summary>How to fix</summary>
              <p class="muted">{r.howToFix}</p>
            </details>
          ) : null}
        </li>
      ))}
    </ul>
  );
}

/** A flow's SLA targets in words, e.g. "timeToAcknowledge p95 within PT5S". */
function slaTargets(sla: GateFacts['flows'][number]['sla']): string[] {
  return Object.entries(sla).flatMap(([name, target]) => (name === 'interventions' || Array.isArray(target) ? [] : [`${name} p${target.percentile} within ${target.target}`]));
}

function ExternalLink(props: { uri: string }) {
  return /^https?:\/\//i.test(props.uri) ? <a href={props.uri}>{props.uri}</a> : <code>{props.uri}</code>;
}

/** Everything the change page shows besides the change itself, loaded for the viewer. */
interface ChangePageData {
  ctx: PageContext;
  change: ChangeContext;
  environment: string;
  now: Date;
  diff: DiffResult;
  documents: { base?: unknown; revision?: unknown };
  acknowledgements: AcknowledgementStatus;
  evidence: ChangeEvidence[] | null;
  releases: ReturnType<typeof releasesOfChange> | null;
  /** Whether the viewer may see a version of the change's API (a partner: not another partner's draft). */
  visible: (version: string | null | undefined) => boolean;
  done?: Done;
  error?: AccordError;
  comment?: string;
}

async function loadChangePage(deps: Deps, pageCtx: PageContext, id: string, environment: string): Promise<ChangePageData> {
  const { principal } = pageCtx;
  const change = await readChange(deps, principal, id, environment);
  const { row } = change;
  // The documents only where the viewer may read them, as through the API (another partner's draft stays hidden).
  const documents: ChangePageData['documents'] = {};
  if (hasScope(principal, 'contracts:read')) {
    const version = findVersion(deps, row.partner, row.api, row.version);
    const base = row.baseVersion ? findVersion(deps, row.partner, row.api, row.baseVersion) : undefined;
    if (version && canSee(principal, version) && (!row.baseVersion || (base && canSee(principal, base)))) {
      documents.revision = await loadContractDocument(deps, version);
      if (base) documents.base = await loadContractDocument(deps, base);
    }
  }
  const staff = principal.role !== 'partner';
  return {
    ctx: pageCtx,
    change,
    environment,
    now: deps.clock(),
    diff: JSON.parse(row.diff) as DiffResult,
    documents,
    acknowledgements: await acknowledgementStatus(deps, change),
    evidence: staff && hasScope(principal, 'evidence:read') ? evidenceForChange(deps, change) : null,
    releases: staff ? releasesOfChange(deps, row) : null,
    visible: (v) => {
      if (!v) return false;
      const found = findVersion(deps, row.partner, row.api, v);
      return found !== undefined && canSee(principal, found);
    },
  };
}

function EvidenceTable(props: { evidence: ChangeEvidence[]; now: Date }) {
  if (props.evidence.length === 0) return <p>No evidence recorded for the kinds this change requires.</p>;
  return (
    <TableWrap label="Newest records of each required kind">
      <table>
        <caption class="muted">Newest records of each required kind</caption>
        <thead>
          <tr>
            <th scope="col">Kind</th>
            <th scope="col">Result</th>
            <th scope="col">Environment</th>
            <th scope="col">Produced</th>
            <th scope="col">Recorded</th>
            <th scope="col">Bound to this content</th>
            <th scope="col">Report</th>
          </tr>
        </thead>
        <tbody>
          {props.evidence.map((e) => (
            <tr>
              <th scope="row">{e.kind}</th>
              <td>
                <span class={`badge ${e.result === 'pass' ? 'pass' : 'fail'}`}>{e.result}</span>
                {e.expiresAt ? (
                  <span class="muted">
                    {' '}
                    {Date.parse(e.expiresAt) <= props.now.getTime() ? 'expired' : 'expires'} <Time at={e.expiresAt} />
                  </span>
                ) : null}
              </td>
              <td>{e.environment}</td>
              <td>
                <Time at={e.producedAt} /> ({age(props.now, e.producedAt)})
              </td>
              <td>
                <Time at={e.createdAt} />
              </td>
              <td>{e.boundToContent ? <span class="badge ok">yes</span> : <span class="badge warn">no — other content, ignored</span>}</td>
              <td>
                <ExternalLink uri={e.uri} />
              </td>
            </tr>
          ))}
        </tbody>
      </table>
    </TableWrap>
  );
}

function ChangePage(props: ChangePageData) {
  const { ctx, change, environment, diff, acknowledgements: ack } = props;
  const { row, facts, preview } = change;
  const { principal } = ctx;
  const status = changeStatus(change);
  const approvals = preview.reasons.find((r) => r.rule === 'approvals');
  const open = facts.target.state === 'draft' || facts.target.state === 'approved';
  const author = changeAuthors(row, facts.target.registeredBy).some((a) => sameActor({ name: principal.name, token: principal.tokenId }, a));
  const reviewedByMe = change.reviews.some((r) => r.diffHash === row.diffHash && sameActor({ name: principal.name, token: principal.tokenId }, { name: r.reviewer, token: r.reviewerToken }));
  const mustAcknowledge = principal.role === 'partner' && ack.required.includes(principal.partner!);
  const acknowledgedByMe = mustAcknowledge && ack.acknowledged.some((a) => a.partner === principal.partner);
  const envQuery = environment === 'production' ? '' : `?environment=${environment}`;
  const matrix = hasScope(principal, 'matrix:read');
  const stale = facts.diff.hash !== row.diffHash;
  const ref = `${row.partner}/${row.api}@${row.version}`;
  const flows = JSON.parse(row.flows) as string[];
  // What the API would not tell the viewer stays off the page: another partner's draft versions
  // (a base, a rollback target) and who registered a version of an API that is not the viewer's.
  const { visible } = props;
  const owner = principal.role !== 'partner' || principal.partner === row.partner;
  const versionText = (v: string | null | undefined, none: string) => (!v ? none : visible(v) ? `${row.partner}/${row.api}@${v}` : 'an unpublished version');
  return (
    <Layout title={`Change request ${ref}`} ctx={ctx}>
      {props.done ? (
        <p class="notice-ok" role="status">
          {DONE[props.done]}
        </p>
      ) : null}
      <ErrorBox message={props.error?.message} errors={props.error?.errors} />

      <section class="panel" aria-labelledby="change-summary">
        <h2 id="change-summary">Summary</h2>
        <p>{row.summary}</p>
        <dl class="facts">
          <dt>Status</dt>
          <dd>
            <span class={`badge ${STATUS_WORDS[status][1]}`}>{STATUS_WORDS[status][0]}</span> <span class="muted">(version state: {facts.target.state})</span>
          </dd>
          <dt>Version</dt>
          <dd>
            {ref} <ClassBadge breaking={row.breaking} />
          </dd>
          <dt>Compared with</dt>
          <dd>{versionText(row.baseVersion, 'nothing (first version of the API)')}</dd>
          <dt>Opened</dt>
          <dd>
            by {row.createdBy}, <Time at={row.createdAt} />
            {owner ? ` (version registered by ${facts.target.registeredBy ?? 'unknown'})` : null}
          </dd>
          <dt>Requires</dt>
          <dd>
            {row.requiredApprovals} approval(s), {ack.required.length === 0 ? 'no acknowledgements' : `acknowledgements from ${ack.required.join(', ')}`}, evidence: {facts.change?.requiredEvidence.join(', ') || 'none'}
          </dd>
          <dt>Diff hash</dt>
          <dd>
            <code>{row.diffHash.slice(0, 16)}</code>
          </dd>
        </dl>
        {stale ? (
          <p class="error" role="alert">
            This change request is stale: a release would now ship a different diff (against {versionText(facts.diff.base, 'nothing')}) than the one reviewed. Its reviews and acknowledgements no longer count; open a new change request.
          </p>
        ) : null}
      </section>

      <section aria-labelledby="gate-preview">
        <h2 id="gate-preview">Gate preview</h2>
        <form method="get" action={`/console/changes/${row.id}`}>
          <div class="field">
            <label for="environment">Environment</label>
            <select id="environment" name="environment">
              {[...new Set([...ENVIRONMENTS, environment])].map((env) => (
                <option value={env} selected={env === environment}>
                  {env}
                </option>
              ))}
            </select>
          </div>
          <button type="submit" class="secondary">
            Show the preview
          </button>
        </form>
        <p>
          If released to <strong>{environment}</strong> now, the gate would answer <span class={`badge ${preview.verdict}`}>{preview.verdict === 'pass' ? 'PASS' : preview.verdict === 'fail' ? 'FAIL' : 'PENDING'}</span>
        </p>
        <ReasonList reasons={preview.reasons} />
      </section>

      <section aria-labelledby="what-changed">
        <h2 id="what-changed">What changed?</h2>
        <p>
          Diff verdict: a <strong>{diff.bump}</strong> change — {diff.summary.breaking} breaking, {diff.summary.warning} warning(s), {diff.summary.info} informational ({diff.summary.distinct.breaking} distinct breaking).
        </p>
        <p>
          Flows touched:{' '}
          {flows.length === 0
            ? 'none'
            : flows.map((f, i) => (
                <>
                  {i > 0 ? ', ' : ''}
                  {matrix ? <a href={`/console/matrix/${f}`}>{f}</a> : f}
                </>
              ))}
          {facts.changedOperations.length > 0 && (owner || !facts.diff.base || visible(facts.diff.base)) ? <span class="muted"> (changed operations: {facts.changedOperations.join(', ')})</span> : null}
        </p>
        <DiffView result={diff} fromVersion={row.baseVersion && visible(row.baseVersion) ? row.baseVersion : null} toVersion={row.version} base={props.documents.base} revision={props.documents.revision} />
      </section>

      <section aria-labelledby="detection">
        <h2 id="detection">How is breakage detected?</h2>
        <h3>Evidence bound to this content</h3>
        <p class="muted">
          Content <code>{facts.target.sha256.slice(0, 16)}</code>: only evidence produced for exactly this content counts.
        </p>
        <ul class="reasons">
          {preview.reasons
            .filter((r) => r.rule.startsWith('evidence:'))
            .map((r) => (
              <li>
                <span class={`badge ${r.status}`}>{r.status}</span> {r.message}
              </li>
            ))}
        </ul>
        {props.evidence ? <EvidenceTable evidence={props.evidence} now={props.now} /> : null}
        {matrix ? (
          <>
            <h3>Monitoring of the covered flows</h3>
            {facts.flows.length === 0 ? (
              <p>No control-matrix flow covers the changed operations.</p>
            ) : (
              <ul>
                {preview.detection.flows.map((f, i) => (
                  <li>
                    <strong>{matrix ? <a href={`/console/matrix/${f.flow}`}>{f.flow}</a> : f.flow}</strong> (owner {f.owner}): every hop logs {f.requiredFields.join(', ')}; metrics {f.metrics.join(', ')}.
                    {slaTargets(facts.flows[i]!.sla).length > 0 ? <> SLA: {slaTargets(facts.flows[i]!.sla).join('; ')}.</> : null}
                    {f.interventions.length > 0 ? <> Interventions when breached: {f.interventions.join('; ')}.</> : null}
                  </li>
                ))}
              </ul>
            )}
          </>
        ) : null}
        <h3 id="acknowledgements">Partner acknowledgements</h3>
        {ack.required.length === 0 ? (
          <p>
            No partner must acknowledge: the policy asks {ack.rule === 'none' ? 'no acknowledgement' : 'all consumers'} for {ack.changeClass} changes{ack.rule === 'all-consumers' ? ', and the API had no consumers when the change was opened' : ''}.
          </p>
        ) : (
          <>
            <p>
              Why: the policy asks <strong>{ack.rule === 'all-consumers' ? 'every consumer' : 'no one'}</strong> to acknowledge {ack.changeClass} changes, and the consumers of {row.partner}/{row.api} were {ack.required.join(', ')} when the change was opened
              {ack.consumers.join(',') === ack.required.join(',') ? '.' : ` (today: ${ack.consumers.join(', ') || 'none'}).`}
            </p>
            <ul>
              {ack.acknowledged.map((a) => (
                <li>
                  <span class="badge met">acknowledged</span> {a.partner} — {a.createdBy}, <Time at={a.createdAt} />
                  {a.comment ? `: “${a.comment}”` : ''}
                </li>
              ))}
              {ack.missing.map((p) => (
                <li>
                  <span class="badge pending">must still acknowledge</span> {p}
                </li>
              ))}
            </ul>
          </>
        )}
        {mustAcknowledge && !acknowledgedByMe && hasScope(principal, 'changes:acknowledge') ? (
          <form method="post" action={`/console/changes/${row.id}/acknowledgements${envQuery}`}>
            <CsrfField csrf={ctx.csrf} />
            <div class="field">
              <label for="ack-comment">Comment (optional)</label>
              <textarea id="ack-comment" name="comment" maxlength={5000}>
                {props.comment ?? ''}
              </textarea>
            </div>
            <button type="submit">Acknowledge for {principal.partner}</button>
          </form>
        ) : null}
        {acknowledgedByMe ? <p>{principal.partner} has acknowledged this change.</p> : null}
      </section>

      <section aria-labelledby="recovery">
        <h2 id="recovery">How do we recover?</h2>
        <p>
          Roll back to: <strong>{versionText(preview.recovery.rollbackTo, 'nothing earlier (first release)')}</strong>
        </p>
        <p>
          Rollback plan: {preview.recovery.rollbackPlan ? <ExternalLink uri={preview.recovery.rollbackPlan} /> : 'no passing rollback-plan evidence for this content'}. Runbook:{' '}
          {preview.recovery.runbook ? <ExternalLink uri={preview.recovery.runbook} /> : 'no passing runbook evidence for this content'}.
        </p>
        {matrix && facts.flows.length > 0 ? (
          <TableWrap label="Compensation of each step of the covered flows">
            <table>
              <caption class="muted">Compensation of each step of the covered flows</caption>
              <thead>
                <tr>
                  <th scope="col">Flow</th>
                  <th scope="col">Step</th>
                  <th scope="col">Compensation</th>
                  <th scope="col">Escalation</th>
                </tr>
              </thead>
              <tbody>
                {facts.flows.flatMap((f) =>
                  f.steps.map((s) => (
                    <tr>
                      <th scope="row">{f.flow}</th>
                      <td>
                        {s.id} <span class="muted">({s.operationId})</span>
                      </td>
                      <td>{s.compensation.operationId ? `call ${s.compensation.operationId}` : s.compensation.strategy === 'none' || !s.compensation.strategy ? 'none' : s.compensation.strategy}</td>
                      <td>{f.escalation.map((e) => `after ${e.after}: ${e.contact}`).join('; ') || 'none'}</td>
                    </tr>
                  )),
                )}
              </tbody>
            </table>
          </TableWrap>
        ) : null}
      </section>

      <section aria-labelledby="approvals">
        <h2 id="approvals">Approvals</h2>
        {approvals ? (
          <p>
            <span class={`badge ${approvals.status}`}>{approvals.status}</span> {approvals.message}
          </p>
        ) : null}
        {change.reviews.length === 0 ? (
          <p>No reviews yet.</p>
        ) : (
          <TableWrap label="Reviews, oldest first">
            <table>
              <caption class="muted">Reviews, oldest first</caption>
              <thead>
                <tr>
                  <th scope="col">Reviewer</th>
                  <th scope="col">Decision</th>
                  <th scope="col">Counts</th>
                  <th scope="col">Comment</th>
                  <th scope="col">When</th>
                </tr>
              </thead>
              <tbody>
                {change.reviews.map((r) => (
                  <tr>
                    <th scope="row">{r.reviewer}</th>
                    <td>
                      <span class={`badge ${r.decision === 'approve' ? 'ok' : 'fail'}`}>{r.decision === 'approve' ? 'approved' : 'rejected'}</span>
                    </td>
                    <td>{stillCounts(change, r.diffHash) ? 'yes' : 'no — for another diff'}</td>
                    <td>{r.comment}</td>
                    <td>
                      <Time at={r.createdAt} />
                    </td>
                  </tr>
                ))}
              </tbody>
            </table>
          </TableWrap>
        )}
        {mayReview(principal) && open ? (
          author ? (
            <p>You opened this change request or registered its version, so you may not review it (separation of duties); ask another approver.</p>
          ) : (
            <form method="post" action={`/console/changes/${row.id}/reviews${envQuery}`}>
              <CsrfField csrf={ctx.csrf} />
              {reviewedByMe ? <p class="muted">You have reviewed this diff already; a new review is recorded next to it.</p> : null}
              <div class="field">
                <label for="review-comment">Comment (required to reject)</label>
                <textarea id="review-comment" name="comment" maxlength={5000}>
                  {props.comment ?? ''}
                </textarea>
              </div>
              <button type="submit" name="decision" value="approve">
                Approve
              </button>{' '}
              <button type="submit" name="decision" value="reject" class="danger">
                Reject
              </button>
            </form>
          )
        ) : null}
      </section>

      {props.releases ? (
        <section aria-labelledby="release">
          <h2 id="release">Release</h2>
          {props.releases.length === 0 ? (
            <p>Not released to any environment yet.</p>
          ) : (
            <ul>
              {props.releases.map((r) => (
                <li>
                  Released to <strong>{r.environment}</strong> by {r.createdBy}, <Time at={r.createdAt} />
                </li>
              ))}
            </ul>
          )}
          {['admin', 'ci', 'author', 'approver'].includes(principal.role) && hasScope(principal, 'gate:check') ? (
            <form method="post" action={`/console/changes/${row.id}/gate-checks${envQuery}`}>
              <CsrfField csrf={ctx.csrf} />
              <p class="muted">A release needs a passing gate decision recorded for this content and environment.</p>
              <button type="submit" class="secondary">
                Record a gate decision for {environment}
              </button>
            </form>
          ) : null}
          {['admin', 'ci'].includes(principal.role) && hasScope(principal, 'releases:write') ? (
            <form method="post" action={`/console/changes/${row.id}/releases${envQuery}`}>
              <CsrfField csrf={ctx.csrf} />
              <div class="field">
                <label for="release-environment">Release to</label>
                <select id="release-environment" name="environment">
                  {[...new Set([...ENVIRONMENTS, environment])].map((env) => (
                    <option value={env} selected={env === environment}>
                      {env}
                    </option>
                  ))}
                </select>
              </div>
              <button type="submit">Record the release</button>
            </form>
          ) : null}
        </section>
      ) : null}
    </Layout>
  );
}

/**
 * Runs a form's action on a change request the viewer may read (404 otherwise, before anything
 * runs); a refusal is shown on the change page with its status, and nothing changes.
 */
async function act(c: Context<WebEnv>, deps: Deps, scope: Scope, action: string, run: (change: ChangeContext, form: Record<string, unknown>) => Promise<Done> | Done): Promise<Response> {
  const pageCtx = pageContext(c);
  requireScope(pageCtx.principal, scope, action);
  const environment = environmentParam(c.req.query('environment'));
  const form = (await c.req.parseBody()) as Record<string, unknown>;
  // A form field is text: a file (multipart) in its place is refused, not dropped.
  const files = Object.keys(form).filter((name) => typeof form[name] !== 'string');
  if (files.length > 0) throw new AccordError('bad_request', `Form fields must be text: ${files.join(', ')}`);
  const page = await loadChangePage(deps, pageCtx, c.req.param('id')!, environment);
  let done: Done;
  try {
    done = await run(page.change, form);
  } catch (error) {
    if (!(error instanceof AccordError)) throw error;
    return sendPage(c, <ChangePage {...page} error={error} comment={typeof form.comment === 'string' ? form.comment : undefined} />, error.status);
  }
  const query = new URLSearchParams({ done, ...(environment === 'production' ? {} : { environment }) });
  return c.redirect(`/console/changes/${page.change.row.id}?${query}`, 303);
}

/** The console's change-request pages (mounted under /console): the queue, a partner's inbox, one page per change and its forms. */
export function registerChangesPages(app: Hono<WebEnv>, deps: Deps): void {
  app.get('/changes', (c) => {
    const ctx = pageContext(c);
    const { principal } = ctx;
    requireScope(principal, 'changes:read', 'read change requests');
    const page = pageParam(c.req.query('page'));
    const tab = c.req.query('tab');
    if (principal.role === 'partner') {
      const current = (tab ?? 'inbox') as PartnerTab;
      if (!Object.hasOwn(PARTNER_TABS, current)) throw new AccordError('bad_request', `Unknown tab ${JSON.stringify(tab)}`, { errors: [{ location: 'tab', message: 'must be inbox or own' }] });
      const list = current === 'inbox' ? acknowledgementInbox(deps, principal.partner!, page) : partnerChanges(deps, principal.partner!, page);
      const tabs = Object.entries(PARTNER_TABS).map(([id, t]) => ({ id, label: t.label }));
      return sendPage(c, <QueuePageView ctx={ctx} tabs={tabs} current={current} about={PARTNER_TABS[current].about} list={list} />);
    }
    const current = (tab ?? 'review') as QueueTab;
    if (!QUEUE_TABS.includes(current)) throw new AccordError('bad_request', `Unknown tab ${JSON.stringify(tab)}`, { errors: [{ location: 'tab', message: `must be one of ${QUEUE_TABS.join(', ')}` }] });
    const text = (t: QueueTab) => queueTabText(principal, t);
    const tabs = QUEUE_TABS.map((id) => ({ id, label: text(id).label }));
    return sendPage(c, <QueuePageView ctx={ctx} tabs={tabs} current={current} about={text(current).about} list={changeQueue(deps, principal, current, page)} />);
  });

  app.get('/changes/:id', async (c) => {
    const ctx = pageContext(c);
    requireScope(ctx.principal, 'changes:read', 'read change requests');
    const done = c.req.query('done');
    if (done !== undefined && !Object.hasOwn(DONE, done)) throw new AccordError('bad_request', 'Unknown confirmation', { errors: [{ location: 'done', message: `must be one of ${Object.keys(DONE).join(', ')}` }] });
    const page = await loadChangePage(deps, ctx, c.req.param('id'), environmentParam(c.req.query('environment')));
    return sendPage(c, <ChangePage {...page} done={done as Done | undefined} />);
  });

  app.post('/changes/:id/reviews', (c) =>
    act(c, deps, 'changes:review', 'review change requests', async ({ row }, form): Promise<Done> => {
      const review = await reviewChange(deps, pageContext(c).principal, row.id, { decision: form.decision, comment: typeof form.comment === 'string' && form.comment !== '' ? form.comment : undefined });
      return review.decision === 'approve' ? 'approved' : 'rejected';
    }),
  );
  app.post('/changes/:id/acknowledgements', (c) =>
    act(c, deps, 'changes:acknowledge', 'acknowledge changes', ({ row }, form): Done => {
      acknowledgeChange(deps, pageContext(c).principal, row.id, { comment: form.comment });
      return 'acknowledged';
    }),
  );
  app.post('/changes/:id/gate-checks', (c) =>
    act(c, deps, 'gate:check', 'check the release gate', async ({ row, facts }): Promise<Done> => {
      await checkGate(deps, pageContext(c).principal, { partner: row.partner, api: row.api, version: row.version, environment: facts.target.environment });
      return 'gate-checked';
    }),
  );
  app.post('/changes/:id/releases', (c) =>
    act(c, deps, 'releases:write', 'record releases', async ({ row }, form): Promise<Done> => {
      await recordRelease(deps, pageContext(c).principal, { partner: row.partner, api: row.api, version: row.version, environment: form.environment });
      return 'released';
    }),
  );
}
