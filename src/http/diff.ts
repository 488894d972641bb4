import { Hono, type Context } from 'hono';
import type { Deps } from '../context.ts';
import { renderDiff, type DiffFormat } from '../diff/render.ts';
import { diffPostedDocuments } from '../diff/service.ts';
import type { DiffResult } from '../diff/types.ts';
import { AccordError } from '../errors.ts';
import { jsonBody, type AppEnv } from './types.ts';

const TYPES: Record<DiffFormat, string> = { json: 'application/json', markdown: 'text/markdown; charset=utf-8', text: 'text/plain; charset=utf-8' };

/** Answers a diff as JSON (default), Markdown or text by `?format=`. */
export function respondDiff(c: Context<AppEnv>, result: DiffResult, title: string): Response {
  const format = (c.req.query('format') ?? 'json') as DiffFormat;
  if (!Object.hasOwn(TYPES, format)) throw new AccordError('bad_request', '?format must be json, markdown or text', { errors: [{ location: 'format', message: 'json | markdown | text' }] });
  return c.body(renderDiff(result, format, title), 200, { 'Content-Type': TYPES[format] });
}

/** POST /v1/diff: stateless diff of two posted documents. */
export function diffRouter(deps: Deps): Hono<AppEnv> {
  const app = new Hono<AppEnv>();
  app.post('/', async (c) => {
    const body = await jsonBody(c);
    return respondDiff(c, await diffPostedDocuments(deps, body.base, body.revision), 'Contract changes');
  });
  return app;
}
