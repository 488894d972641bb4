import type { OpenAPIHono } from '@hono/zod-openapi';
import type { Deps } from '../deps.ts';
import { closeReviewItem, listReviewItems } from '../gate/review-items.ts';
import { operationsRouter, serve } from './operation.ts';
import { pageFrom, sendPage } from './pages.ts';
import * as op from './operations/review-items.ts';
import { principalOf, type AppEnv } from './env.ts';

/** /v1/review-items: post-release reviews opened by break-glass. */
export function reviewItemsRouter(deps: Deps): OpenAPIHono<AppEnv> {
  const app = operationsRouter();
  serve(app, op.listReviewItems, async (c, { query }) => sendPage(c, deps.config, 'review-items', await listReviewItems(deps, query.status, pageFrom('review-items', ['string', 'string'], query))));
  serve(app, op.closeReviewItem, async (c, { params, body }) => c.json(await closeReviewItem(deps, principalOf(c), params.id, body)));
  return app;
}
