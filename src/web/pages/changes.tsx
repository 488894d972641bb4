import { pageParam } from '../query.ts';
import type { Context, Hono } from 'hono';
import { hasScope } from '../../auth/principal.ts';
import { acknowledgeChange, ChangeAcknowledgement, ChangeReview, reviewChange } from '../../changes/changes.ts';
import { acknowledgementInbox, changeQueue, partnerChanges, QUEUE_TABS, type QueueTab } from '../../changes/queue.ts';
import { recordRelease, ReleaseRequest } from '../../changes/releases.ts';
import { acknowledgementStatus, evidenceForChange, readChange, releasesOfChange, type ChangeContext } from '../../changes/view.ts';
import type { Deps } from '../../deps.ts';
import { canSee, findVersion, loadContractDocument } from '../../contracts/versions.ts';
import type { DiffResult } from '../../diff/types.ts';
import { AccordError } from '../../errors.ts';
import { checkGate, GateCheckRequest } from '../../gate/check.ts';
import { authorize } from '../../http/api.ts';
import * as changeOperations from '../../http/operations/changes.ts';
import * as gateOperations from '../../http/operations/gate.ts';
import * as releaseOperations from '../../http/operations/releases.ts';
import { parseInput } from '../../lib/validate.ts';
import type { PageContext } from '../layout.tsx';
import { pageContext, sendPage, textForm, type WebEnv } from '../types.ts';
import { DONE, type Done, environmentParam } from './changes/parts.tsx';
import { queueTabText, PARTNER_TABS, type PartnerTab, QueuePageView } from './changes/queue-page.tsx';
import { type ChangePageData, ChangePage } from './changes/change-page.tsx';
import { getChange as getChangeOp, listChanges as listChangesOp } from '../../http/operations/changes.ts';

async function loadChangePage(deps: Deps, pageCtx: PageContext, id: string, environment: string): Promise<ChangePageData> {
  const { principal } = pageCtx;
  const change = await readChange(deps, principal, id, environment);
  const { row } = change;
  // The documents only where the viewer may read them, as through the API (another partner's draft stays hidden).
  const documents: ChangePageData['documents'] = {};
  if (hasScope(principal, 'contracts:read')) {
    const version = await findVersion(deps, row.partner, row.api, row.version);
    const base = row.baseVersion ? await findVersion(deps, row.partner, row.api, row.baseVersion) : undefined;
    if (version && canSee(principal, version) && (!row.baseVersion || (base && canSee(principal, base)))) {
      documents.revision = await loadContractDocument(deps, version);
      if (base) documents.base = await loadContractDocument(deps, base);
    }
  }
  const staff = principal.role !== 'partner';
  // The versions the page names (base, diff base, rollback target): shown only when the viewer may see them.
  const visibleVersions = new Set<string>();
  // Usually one version under three names: each is looked up once.
  for (const v of new Set([row.baseVersion, change.facts.diff.base, change.preview.recovery.rollbackTo])) {
    const found = v ? await findVersion(deps, row.partner, row.api, v) : undefined;
    if (found && canSee(principal, found)) visibleVersions.add(found.version);
  }
  return {
    ctx: pageCtx,
    change,
    environment,
    now: deps.clock(),
    diff: JSON.parse(row.diff) as DiffResult,
    documents,
    acknowledgements: await acknowledgementStatus(deps, change, principal),
    evidence: staff && hasScope(principal, 'evidence:read') ? await evidenceForChange(deps, change) : null,
    releases: staff ? await releasesOfChange(deps, row) : null,
    visible: (v) => !!v && visibleVersions.has(v),
  };
}

/**
 * Runs a form's action, the console's form of an API operation: refused first when the viewer's
 * role or token scope may not call that operation (403, as the API), then on a change request
 * the viewer may read (404 otherwise, before anything runs); a refusal of the action itself is
 * shown on the change page with its status, and nothing changes.
 */
async function act(c: Context<WebEnv>, deps: Deps, operation: { method: string; path: string }, run: (change: ChangeContext, form: Record<string, unknown>) => Promise<Done> | Done): Promise<Response> {
  const pageCtx = pageContext(c);
  authorize(pageCtx.principal, operation);
  const environment = environmentParam(c.req.query('environment'));
  const form = await textForm(c);
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
  app.get('/changes', async (c) => {
    const ctx = pageContext(c);
    const { principal } = ctx;
    authorize(principal, listChangesOp);
    const page = pageParam(c.req.query('page'));
    const tab = c.req.query('tab');
    if (principal.role === 'partner') {
      const current = (tab ?? 'inbox') as PartnerTab;
      if (!Object.hasOwn(PARTNER_TABS, current)) throw new AccordError('bad_request', `Unknown tab ${JSON.stringify(tab)}`, { errors: [{ location: 'tab', message: 'must be inbox or own' }] });
      const list = current === 'inbox' ? await acknowledgementInbox(deps, principal.partner!, page) : await partnerChanges(deps, principal.partner!, page);
      const tabs = Object.entries(PARTNER_TABS).map(([id, t]) => ({ id, label: t.label }));
      return sendPage(c, <QueuePageView ctx={ctx} tabs={tabs} current={current} about={PARTNER_TABS[current].about} list={list} />);
    }
    const current = (tab ?? 'review') as QueueTab;
    if (!QUEUE_TABS.includes(current)) throw new AccordError('bad_request', `Unknown tab ${JSON.stringify(tab)}`, { errors: [{ location: 'tab', message: `must be one of ${QUEUE_TABS.join(', ')}` }] });
    const text = (t: QueueTab) => queueTabText(principal, t);
    const tabs = QUEUE_TABS.map((id) => ({ id, label: text(id).label }));
    return sendPage(c, <QueuePageView ctx={ctx} tabs={tabs} current={current} about={text(current).about} list={await changeQueue(deps, principal, current, page)} />);
  });

  app.get('/changes/:id', async (c) => {
    const ctx = pageContext(c);
    authorize(ctx.principal, getChangeOp);
    const done = c.req.query('done');
    if (done !== undefined && !Object.hasOwn(DONE, done)) throw new AccordError('bad_request', 'Unknown confirmation', { errors: [{ location: 'done', message: `must be one of ${Object.keys(DONE).join(', ')}` }] });
    const page = await loadChangePage(deps, ctx, c.req.param('id'), environmentParam(c.req.query('environment')));
    return sendPage(c, <ChangePage {...page} done={done as Done | undefined} />);
  });

  app.post('/changes/:id/reviews', (c) =>
    act(c, deps, changeOperations.reviewChange, async ({ row }, form): Promise<Done> => {
      const input = parseInput(ChangeReview, { decision: form.decision, comment: form.comment === '' ? undefined : form.comment, diffHash: form.diffHash === '' ? undefined : form.diffHash }, { detail: 'Invalid review' });
      const review = await reviewChange(deps, pageContext(c).principal, row.id, input);
      return review.decision === 'approve' ? 'approved' : 'rejected';
    }),
  );
  app.post('/changes/:id/acknowledgements', (c) =>
    act(c, deps, changeOperations.acknowledgeChange, async ({ row }, form): Promise<Done> => {
      await acknowledgeChange(deps, pageContext(c).principal, row.id, parseInput(ChangeAcknowledgement, { comment: form.comment }, { detail: 'Invalid request body' }));
      return 'acknowledged';
    }),
  );
  app.post('/changes/:id/gate-checks', (c) =>
    act(c, deps, gateOperations.checkGate, async ({ row, facts }): Promise<Done> => {
      const input = parseInput(GateCheckRequest, { partner: row.partner, api: row.api, version: row.version, environment: facts.target.environment }, { detail: 'Invalid gate check' });
      await checkGate(deps, pageContext(c).principal, input);
      return 'gate-checked';
    }),
  );
  app.post('/changes/:id/releases', (c) =>
    act(c, deps, releaseOperations.recordRelease, async ({ row }, form): Promise<Done> => {
      const input = parseInput(ReleaseRequest, { partner: row.partner, api: row.api, version: row.version, environment: form.environment }, { detail: 'Invalid release' });
      await recordRelease(deps, pageContext(c).principal, input);
      return 'released';
    }),
  );
}

