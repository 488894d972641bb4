import { Time } from '../../components/time.tsx';
import { mayCall } from '../../../http/api.ts';
import { acknowledgeChange as acknowledgeChangeOp } from '../../../http/operations/changes.ts';
import { checkGate as checkGateOp } from '../../../http/operations/gate.ts';
import { getMatrixEntry as getMatrixEntryOp } from '../../../http/operations/matrix.ts';
import { recordRelease as recordReleaseOp } from '../../../http/operations/releases.ts';
import { mayReview } from '../../../changes/queue.ts';
import { sameActor, changeAuthors } from '../../../changes/separation.ts';
import { changeStatus, releasesOfChange, stillCounts, type AcknowledgementStatus, type ChangeContext, type ChangeEvidence } from '../../../changes/view.ts';
import { foundAfterReviewOf, parseSnapshot } from '../../../changes/snapshot.ts';
import type { DiffResult } from '../../../diff/types.ts';
import { changeIsStale } from '../../../gate/evaluate.ts';
import { AccordError } from '../../../errors.ts';
import { DiffView } from '../../components/diff-view.tsx';
import { TableWrap } from '../../components/table-wrap.tsx';
import { CsrfField, ErrorBox, Layout, type PageContext } from '../../layout.tsx';
import { STATUS_WORDS, DONE, type Done, ENVIRONMENTS, ClassBadge, ReasonList, slaTargets, ExternalLink, EvidenceTable, FoundAfterReviewPanel } from './parts.tsx';

/** One change request's page: everything a board needs to decide, and the forms to act. */

/** Everything the change page shows besides the change itself, loaded for the viewer. */
export interface ChangePageData {
  ctx: PageContext;
  change: ChangeContext;
  environment: string;
  now: Date;
  diff: DiffResult;
  documents: { base?: unknown; revision?: unknown };
  acknowledgements: AcknowledgementStatus;
  evidence: ChangeEvidence[] | null;
  releases: Awaited<ReturnType<typeof releasesOfChange>> | null;
  /** Whether the viewer may see a version of the change's API (a partner: not another partner's draft). */
  visible: (version: string | null | undefined) => boolean;
  done?: Done;
  error?: AccordError;
  comment?: string;
}

export function ChangePage(props: ChangePageData) {
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
  const matrix = mayCall(principal, getMatrixEntryOp);
  const stale = changeIsStale(facts);
  const foundAfterReview = foundAfterReviewOf(parseSnapshot(row.diff));
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

      <FoundAfterReviewPanel findings={foundAfterReview} />

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
            No partner must acknowledge: the policy asks {ack.rule === 'none' ? 'no acknowledgement' : 'every consumer the change affects'} for {ack.changeClass} changes{ack.rule !== 'all-consumers' ? '' : ack.openedWith?.length ? `, and it affects none of the API's consumers (${ack.openedWith.join(', ')}; each was told by notice)` : ', and the API had no consumers when the change was opened'}.
          </p>
        ) : (
          <>
            <p>
              Why: the policy asks <strong>{ack.rule === 'all-consumers' ? (ack.openedWith ? 'every consumer the change affects' : 'every consumer') : 'no one'}</strong> to acknowledge {ack.changeClass} changes, and {ack.openedWith ? `of the consumers of ${row.partner}/${row.api} (${ack.openedWith.join(', ')}) it affected ${ack.required.join(', ')} when it was opened (an operation it uses is touched, or what it uses is unknown; the others were told by notice)` : `the consumers of ${row.partner}/${row.api} were ${ack.required.join(', ')} when the change was opened`}
              {ack.consumers.join(',') === (ack.openedWith ?? ack.required).join(',') ? '.' : ` (today: ${ack.consumers.join(', ') || 'none'}).`}
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
        {ack.reasons.length > 0 ? (
          <ul>
            {ack.reasons.map((r) => (
              <li>
                {r.partner}: {r.reason}
                {r.affected ? '' : ' (not asked)'}
              </li>
            ))}
          </ul>
        ) : null}
        {mustAcknowledge && !acknowledgedByMe && mayCall(principal, acknowledgeChangeOp) ? (
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
                    <td>{stillCounts(change, r.diffHash) ? 'yes' : foundAfterReview.some((f) => f.reviewedHash === r.diffHash) ? 'no — for the diff before the findings found after review' : 'no — for another diff'}</td>
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
              {/* The diff the reviewer read: refused if findings found after review amend it before the review arrives. */}
              <input type="hidden" name="diffHash" value={row.diffHash} />
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
          {mayCall(principal, checkGateOp) ? (
            <form method="post" action={`/console/changes/${row.id}/gate-checks${envQuery}`}>
              <CsrfField csrf={ctx.csrf} />
              <p class="muted">A release needs a passing gate decision recorded for this content and environment.</p>
              <button type="submit" class="secondary">
                Record a gate decision for {environment}
              </button>
            </form>
          ) : null}
          {mayCall(principal, recordReleaseOp) ? (
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
