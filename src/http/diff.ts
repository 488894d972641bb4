import type { OpenAPIHono } from '@hono/zod-openapi';
import type { Context } from 'hono';
import type { Deps } from '../deps.ts';
import { DIFF_FORMATS, renderDiff } from '../diff/render.ts';
import { chooseRepresentation } from './formats.ts';
import { REPRESENTATIONS } from '../lib/representations.ts';
import { diffPostedDocuments } from '../diff/service.ts';
import type { DiffArtifacts } from '../diff/lines.ts';
import type { DiffResult } from '../diff/types.ts';
import { operationsRouter, serve } from './operation.ts';
import * as op from './operations/diff.ts';
import type { AppEnv } from './env.ts';

/**
 * Answers a diff as JSON, Markdown, text or SARIF (the operation's `?format=`). `artifacts`
 * names the compared documents for SARIF (registry refs) and, with their text, the lines.
 */
export function respondDiff(c: Context<AppEnv>, result: DiffResult, format: string | undefined, title: string, artifacts?: DiffArtifacts): Response {
  const chosen = chooseRepresentation(c, format, DIFF_FORMATS);
  return c.body(renderDiff(result, chosen, { title, ...(artifacts ? { artifacts } : {}) }), 200, { 'Content-Type': REPRESENTATIONS[chosen].type });
}

/** /v1/diff: the stateless diff of two posted documents. */
export function diffRouter(deps: Deps): OpenAPIHono<AppEnv> {
  const app = operationsRouter();
  // Posted documents have no name and no text of their own (JSON as parsed): SARIF names them base and revision.
  serve(app, op.diffDocuments, async (c, { query, body }) => respondDiff(c, await diffPostedDocuments(deps, body.base, body.revision), query.format, 'Contract changes', { base: { uri: 'base' }, revision: { uri: 'revision' } }));
  return app;
}
