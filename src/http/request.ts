import type { Context } from 'hono';
import { AccordError } from '../errors.ts';
import type { AppEnv } from './env.ts';

/** Parses a JSON request body into an object, or throws a 4xx problem. */
export async function jsonBody(c: Context<AppEnv>): Promise<Record<string, unknown>> {
  const type = (c.req.header('content-type') ?? '').split(';')[0]!.trim().toLowerCase();
  if (type !== 'application/json') throw new AccordError('unsupported_media_type', 'Send a JSON body (Content-Type: application/json)');
  const text = await c.req.text();
  let body: unknown;
  try {
    body = JSON.parse(text);
  } catch (error) {
    throw new AccordError('bad_request', `The body is not valid JSON: ${(error as Error).message}`);
  }
  if (typeof body !== 'object' || body === null || Array.isArray(body)) throw new AccordError('bad_request', 'The body must be a JSON object');
  return body as Record<string, unknown>;
}

/**
 * Picks the best of `offered` media types for an Accept header (q-values honoured, wildcards
 * allowed); the first offered type wins ties and an absent header. Throws 406 if none fits.
 */
export function negotiate(accept: string | undefined, offered: readonly string[]): string {
  if (!accept) return offered[0]!;
  let best: { type: string; q: number } | undefined;
  for (const range of accept.split(',')) {
    const [mediaRange = '', ...params] = range.trim().split(';');
    const q = Number(params.map((p) => p.trim()).find((p) => p.startsWith('q='))?.slice(2) ?? '1');
    const [type, subtype] = mediaRange.trim().toLowerCase().split('/');
    if (!type || !subtype || !(q > 0)) continue;
    for (const candidate of offered) {
      const [ct, cs] = candidate.split('/');
      const fits = (type === '*' || type === ct) && (subtype === '*' || subtype === cs);
      if (fits && (!best || q > best.q || (q === best.q && offered.indexOf(candidate) < offered.indexOf(best.type)))) best = { type: candidate, q };
    }
  }
  if (!best) throw new AccordError('not_acceptable', `Acceptable types are ${offered.join(', ')}`);
  return best.type;
}
