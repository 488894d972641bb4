import { z } from '@hono/zod-openapi';
import type { Context } from 'hono';
import type { Config } from '../config.ts';
import { AccordError } from '../errors.ts';
import { absoluteUrl } from '../lib/public-url.ts';
import type { KeyValue, Page, Paged } from '../lib/pages.ts';
import type { AppEnv } from './env.ts';
import { json } from './operation.ts';

/**
 * Cursor pagination of every list the API serves: `?limit=` and `?cursor=` (PageQuery), and an
 * RFC 8288 `Link: <…>; rel="next"` header while more follow (sendPage). A cursor is opaque:
 * base64url of the list's name and the sort key of the last item sent.
 */

const LIMIT = 'limit must be an integer from 1 to 1000';

/** The `limit` and `cursor` query parameters of a list whose pages hold `defaultLimit` items unless told. */
export function PageQuery(defaultLimit = 100) {
  return z.object({
    limit: z.coerce
      .number({ error: LIMIT })
      .int(LIMIT)
      .min(1, LIMIT)
      .max(1000, LIMIT)
      .default(defaultLimit)
      .meta({ description: `How many items per page: 1–1000 (default ${defaultLimit})`, type: 'integer', minimum: 1, maximum: 1000, default: defaultLimit }),
    cursor: z.string().max(2000).optional().meta({ description: 'Where the page starts: the opaque cursor of the previous page’s `Link: rel="next"` URL' }),
  });
}

/** A 200 JSON list response whose `Link` header points at the next page while there is one. */
export function pagedJson<S extends z.ZodType>(schema: S, description = 'OK') {
  return {
    ...json(schema, description),
    headers: z.object({ Link: z.string().optional().meta({ description: 'RFC 8288 `<absolute URL>; rel="next"` while more items follow (absent on the last page)' }) }),
  };
}

/** The kinds of values a list's sort key holds, in order. */
export type KeyShape = ReadonlyArray<'string' | 'number'>;

/** Encodes the sort key of the last item sent as an opaque cursor of `list`. */
function encodeCursor(list: string, key: KeyValue[]): string {
  return Buffer.from(JSON.stringify([list, ...key])).toString('base64url');
}

/** The page a list was asked for: 400 (`cursor`) when the cursor cannot be decoded or is not one of `list`. */
export function pageFrom(list: string, shape: KeyShape, query: { limit: number; cursor?: string | undefined }): Page {
  if (query.cursor === undefined) return { limit: query.limit };
  return { limit: query.limit, after: decodeCursor(list, shape, query.cursor) };
}

function decodeCursor(list: string, shape: KeyShape, cursor: string): KeyValue[] {
  const refuse = (message: string) => new AccordError('bad_request', `Invalid cursor: ${message}`, { errors: [{ location: 'cursor', message }] });
  if (!/^[A-Za-z0-9_-]+$/.test(cursor)) throw refuse('not a cursor of this list');
  let decoded: unknown;
  try {
    decoded = JSON.parse(Buffer.from(cursor, 'base64url').toString('utf8'));
  } catch {
    throw refuse('not a cursor of this list');
  }
  if (!Array.isArray(decoded) || decoded[0] !== list || decoded.length !== shape.length + 1) throw refuse('not a cursor of this list');
  const key = decoded.slice(1) as unknown[];
  if (!key.every((v, i) => (shape[i] === 'number' ? typeof v === 'number' && Number.isFinite(v) : typeof v === 'string'))) throw refuse('not a cursor of this list');
  return key as KeyValue[];
}

/**
 * Answers one page: `body` (default: the items as a bare array), with `Link: <…>; rel="next"`
 * while more follow — this request's URL on the public URL, its other query parameters kept,
 * `cursor` replaced.
 */
export function sendPage<T>(c: Context<AppEnv>, config: Pick<Config, 'publicUrl'>, list: string, page: Paged<T>, body: unknown = page.items): Response {
  if (page.more && page.next) c.header('Link', `<${nextUrl(c, config, encodeCursor(list, page.next))}>; rel="next"`);
  return c.json(body as never);
}

function nextUrl(c: Context<AppEnv>, config: Pick<Config, 'publicUrl'>, cursor: string): string {
  const url = new URL(c.req.url);
  url.searchParams.delete('cursor');
  url.searchParams.append('cursor', cursor);
  return absoluteUrl(config, `${url.pathname}${url.search}`);
}
