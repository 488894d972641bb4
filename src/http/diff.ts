import type { OpenAPIHono } from '@hono/zod-openapi';
import type { Context } from 'hono';
import type { Deps } from '../deps.ts';
import { renderDiff, type DiffFormat } from '../diff/render.ts';
import { diffPostedDocuments } from '../diff/service.ts';
import type { DiffArtifacts } from '../diff/lines.ts';
import type { DiffResult } from '../diff/types.ts';
import { operationsRouter, serve } from './operation.ts';
import * as op from './operations/diff.ts';
import type { AppEnv } from './env.ts';

const TYPES: Record<DiffFormat, string> = { json: 'application/json', markdown: 'text/markdown; charset=utf-8', text: 'text/plain; charset=utf-8', sarif: 'application/sarif+json' };

/**
 * Answers a diff as JSON, Markdown, text or SARIF (the operation's `?format=`). `artifacts`
 * names the compared documents for SARIF (registry refs) and, with their text, the lines.
 */
export function respondDiff(c: Context<AppEnv>, result: DiffResult, format: DiffFormat, title: string, artifacts?: DiffArtifacts): Response {
  return c.body(renderDiff(result, format, { title, ...(artifacts ? { artifacts } : {}) }), 200, { 'Content-Type': TYPES[format] });
}

/** /v1/diff: the stateless diff of two posted documents. */
export function diffRouter(deps: Deps): OpenAPIHono<AppEnv> {
  const app = operationsRouter();
  // Posted documents have no name and no text of their own (JSON as parsed): SARIF names them base and revision.
  serve(app, op.diffDocuments, async (c, { query, body }) => respondDiff(c, await diffPostedDocuments(deps, body.base, body.revision), query.format, 'Contract changes', { base: { uri: 'base' }, revision: { uri: 'revision' } }));
  return app;
}
