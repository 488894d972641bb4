import type { Context, Hono } from 'hono';
import type { Deps } from '../../../deps.ts';
import { AccordError } from '../../../errors.ts';
import { authorize, mayCall } from '../../../http/api.ts';
import { approveCompensation as approveOp, listCompensationApprovals as listOp, rejectCompensation as rejectOp } from '../../../http/operations/approvals.ts';
import { parseInput } from '../../../lib/validate.ts';
import { CompensationDecision, decideCompensation, listApprovals, type ApprovalView } from '../../../runtime/compensation-approvals.ts';
import type { Runtime } from '../../../runtime/index.ts';
import { TableWrap } from '../../components/table-wrap.tsx';
import { Time } from '../../components/time.tsx';
import { CsrfField, ErrorBox, Layout, type PageContext } from '../../layout.tsx';
import { pageContext, sendPage, textForm, type WebEnv } from '../../types.ts';
import { OperationsNav } from './nav.tsx';

const DONE = { approved: 'The compensation is approved; the engine runs it.', rejected: 'The compensation is rejected; the transaction needs attention with your reason.' } as const;
type Done = keyof typeof DONE;

function waited(seconds: number | null): string {
  if (seconds === null) return '';
  if (seconds < 120) return `${seconds} s`;
  if (seconds < 7200) return `${Math.floor(seconds / 60)} min`;
  return `${Math.floor(seconds / 3600)} h`;
}

function ApprovalsPage(props: { ctx: PageContext; rows: ApprovalView[]; done?: Done; error?: AccordError; failed?: { transactionId: string; step: string } }) {
  const { ctx, rows } = props;
  const mayApprove = mayCall(ctx.principal, approveOp);
  const mayReject = mayCall(ctx.principal, rejectOp);
  return (
    <Layout title="Compensations awaiting approval" ctx={ctx}>
      <OperationsNav ctx={ctx} />
      <p class="muted">
        A step whose control-matrix entry says <code>compensation.approval: required</code> does not compensate on its own: its transaction waits here until an operator approves (the compensation
        runs) or rejects it (the step's effect stays and the transaction needs attention). When an operator's own retry or compensate led to it, another operator decides.
      </p>
      {props.done ? (
        <p class="notice-ok" role="status">
          {DONE[props.done]}
        </p>
      ) : null}
      {props.error ? (
        <div data-refused={props.failed ? `${props.failed.transactionId}/${props.failed.step}` : undefined}>
          <ErrorBox message={props.error.message} errors={props.error.errors} />
        </div>
      ) : null}
      {rows.length === 0 ? (
        <p>No compensation awaits approval.</p>
      ) : (
        <TableWrap label="Compensations awaiting approval">
          <table>
            <caption class="muted">{`${rows.length} awaiting, longest waiting first`}</caption>
            <thead>
              <tr>
                <th scope="col">Transaction</th>
                <th scope="col">Flow</th>
                <th scope="col">Partner</th>
                <th scope="col">Step</th>
                <th scope="col">Cause</th>
                <th scope="col">Caused by</th>
                <th scope="col">Waiting since</th>
                {mayApprove || mayReject ? <th scope="col">Decision</th> : null}
              </tr>
            </thead>
            <tbody>
              {rows.map((r) => (
                <tr data-approval={r.id}>
                  <th scope="row">
                    <a href={`/console/operations/transactions/${encodeURIComponent(r.transactionId)}`}>
                      <code>{r.transactionId}</code>
                    </a>
                  </th>
                  <td>{r.flow}</td>
                  <td>{r.partner}</td>
                  <td>
                    <code>{r.step}</code>
                  </td>
                  <td>{r.cause === 'operator' ? <span class="badge warn">operator</span> : <span class="badge">engine</span>}</td>
                  <td>{r.causedBy ?? <span class="muted">—</span>}</td>
                  <td>
                    <Time at={r.requestedAt} /> <span class="muted">{`(${waited(r.waitingSeconds)})`}</span>
                  </td>
                  {mayApprove || mayReject ? (
                    <td>
                      {mayApprove ? (
                        <form method="post" action={`/console/operations/compensations/${encodeURIComponent(r.transactionId)}/${encodeURIComponent(r.step)}/approve`}>
                          <CsrfField csrf={ctx.csrf} />
                          <button type="submit" aria-label={`Approve the compensation of ${r.step} of ${r.transactionId}`}>
                            Approve
                          </button>
                        </form>
                      ) : null}
                      {mayReject ? (
                        <form method="post" action={`/console/operations/compensations/${encodeURIComponent(r.transactionId)}/${encodeURIComponent(r.step)}/reject`}>
                          <CsrfField csrf={ctx.csrf} />
                          <label for={`reason-${r.id}`}>Reason to reject</label>
                          <input id={`reason-${r.id}`} name="reason" type="text" required maxlength={2000} />
                          <button type="submit" class="secondary" aria-label={`Reject the compensation of ${r.step} of ${r.transactionId}`}>
                            Reject
                          </button>
                        </form>
                      ) : null}
                    </td>
                  ) : null}
                </tr>
              ))}
            </tbody>
          </table>
        </TableWrap>
      )}
    </Layout>
  );
}

/**
 * A decision form: refused like the API (role, scope: 403) before anything runs; a refusal of the
 * decision itself (self-approval, nothing awaiting) is shown on the page with its status and
 * nothing changes; otherwise back to the list with a confirmation.
 */
async function decide(c: Context<WebEnv>, deps: Deps, runtime: Runtime, decision: 'approve' | 'reject'): Promise<Response> {
  const ctx = pageContext(c);
  authorize(ctx.principal, decision === 'approve' ? approveOp : rejectOp);
  const form = await textForm(c);
  const ref = c.req.param('ref')!;
  const step = c.req.param('step')!;
  try {
    const input = parseInput(CompensationDecision, { reason: form.reason === '' || form.reason === undefined ? undefined : form.reason }, { detail: 'Invalid decision', code: 'bad_request' });
    const { transaction } = await decideCompensation(deps, ctx.principal, ref, step, decision, input);
    if (decision === 'approve') await runtime.engine.kick(transaction.id);
  } catch (error) {
    if (!(error instanceof AccordError)) throw error;
    return sendPage(c, <ApprovalsPage ctx={ctx} rows={(await listApprovals(deps)).items} error={error} failed={{ transactionId: ref, step }} />, error.status);
  }
  return c.redirect(`/console/operations/compensations?done=${decision === 'approve' ? 'approved' : 'rejected'}`, 303);
}

/** Compensations awaiting approval: the list for staff, approve and reject forms for admin and operator. */
export function registerApprovalPages(app: Hono<WebEnv>, deps: Deps, runtime: Runtime): void {
  app.get('/operations/compensations', async (c) => {
    const ctx = pageContext(c);
    authorize(ctx.principal, listOp);
    const done = c.req.query('done');
    if (done !== undefined && !Object.hasOwn(DONE, done)) throw new AccordError('bad_request', 'Unknown confirmation', { errors: [{ location: 'done', message: `must be one of ${Object.keys(DONE).join(', ')}` }] });
    return sendPage(c, <ApprovalsPage ctx={ctx} rows={(await listApprovals(deps)).items} done={done as Done | undefined} />);
  });
  app.post('/operations/compensations/:ref/:step/approve', (c) => decide(c, deps, runtime, 'approve'));
  app.post('/operations/compensations/:ref/:step/reject', (c) => decide(c, deps, runtime, 'reject'));
}
