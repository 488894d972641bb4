import type { OpenAPIHono } from '@hono/zod-openapi';
import { acknowledgeChange, listChanges, reviewChange, toChangeSummary } from '../changes/changes.ts';
import { createChange } from '../changes/open.ts';
import { awaitingPrincipal } from '../changes/queue.ts';
import { changeDiffFor, changeView } from '../changes/view.ts';
import type { Deps } from '../deps.ts';
import { absoluteUrl } from '../lib/public-url.ts';
import { respondDiff } from './diff.ts';
import { operationsRouter, serve } from './operation.ts';
import { pageFrom, sendPage } from './pages.ts';
import { slicePageAfterItem } from '../lib/pages.ts';
import * as op from './operations/changes.ts';
import { principalOf, type AppEnv } from './env.ts';

/** /v1/changes: change requests, their reviews and acknowledgements. */
export function changesRouter(deps: Deps): OpenAPIHono<AppEnv> {
  const app = operationsRouter();
  serve(app, op.createChange, async (c, { body }) => {
    const change = await createChange(deps, principalOf(c), body);
    c.header('Location', absoluteUrl(deps.config, `/v1/changes/${change.id}`));
    return c.json(toChangeSummary(change), 201);
  });
  serve(app, op.listChanges, async (c, { query: { awaiting, limit, cursor, ...filter } }) => {
    const principal = principalOf(c);
    const page = pageFrom('changes', ['string', 'string'], { limit, cursor });
    if (awaiting === 'me') {
      const awaited = slicePageAfterItem(await awaitingPrincipal(deps, principal, 1000), page, (r) => [r.createdAt, r.id]);
      return sendPage(c, deps.config, 'changes', { ...awaited, items: awaited.items.map(toChangeSummary) });
    }
    return sendPage(c, deps.config, 'changes', await listChanges(deps, principal, filter, page));
  });
  serve(app, op.getChange, async (c, { params, query }) => c.json(await changeView(deps, principalOf(c), params.id, query.environment ?? 'production')));
  serve(app, op.getChangeDiff, async (c, { params, query }) => {
    const result = await changeDiffFor(deps, principalOf(c), params.id, query.consumer);
    return respondDiff(c, result, query.format, `Change request ${params.id}${result.scope ? ` for ${result.scope.consumer}` : ''}`);
  });
  serve(app, op.reviewChange, async (c, { params, body }) => c.json(await reviewChange(deps, principalOf(c), params.id, body), 201));
  serve(app, op.acknowledgeChange, async (c, { params, body }) => c.json(await acknowledgeChange(deps, principalOf(c), params.id, body), 201));
  return app;
}
