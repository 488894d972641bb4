import type { OpenAPIHono } from '@hono/zod-openapi';
import type { Context } from 'hono';
import type { Deps } from '../deps.ts';
import { renderDiff, type DiffFormat } from '../diff/render.ts';
import { diffPostedDocuments } from '../diff/service.ts';
import type { DiffResult } from '../diff/types.ts';
import { operationsRouter, serve } from './operation.ts';
import * as op from './operations/diff.ts';
import type { AppEnv } from './env.ts';

const TYPES: Record<DiffFormat, string> = { json: 'application/json', markdown: 'text/markdown; charset=utf-8', text: 'text/plain; charset=utf-8' };

/** Answers a diff as JSON, Markdown or text (the operation's `?format=`). */
export function respondDiff(c: Context<AppEnv>, result: DiffResult, format: DiffFormat, title: string): Response {
  return c.body(renderDiff(result, format, title), 200, { 'Content-Type': TYPES[format] });
}

/** /v1/diff: the stateless diff of two posted documents. */
export function diffRouter(deps: Deps): OpenAPIHono<AppEnv> {
  const app = operationsRouter();
  serve(app, op.diffDocuments, async (c, { query, body }) => respondDiff(c, await diffPostedDocuments(deps, body.base, body.revision), query.format, 'Contract changes'));
  return app;
}
