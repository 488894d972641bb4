import type { Context } from 'hono';
import { AccordError } from '../errors.ts';
import type { AppEnv } from '../http/env.ts';
import type { PageContext } from './layout.tsx';
import type { Session } from './sessions.ts';

/** The console's Hono environment (the API's: `session` is set on every page behind sign-in). */
export type WebEnv = AppEnv;

/** The signed-in session (the console's middleware guarantees one behind sign-in). */
export function sessionOf(c: Context<WebEnv>): Session {
  const session = c.get('session');
  if (!session) throw new AccordError('unauthorized', 'Sign in first');
  return session;
}

/** The signed-in user, form token and path a page renders with. */
export function pageContext(c: Context<WebEnv>): PageContext {
  const session = sessionOf(c);
  return { principal: session.principal, csrf: session.csrf, path: c.req.path };
}

/** Sends a page: the doctype, then the rendered JSX (async components, which read storage, awaited). */
export async function sendPage(c: Context<WebEnv>, page: unknown, status = 200): Promise<Response> {
  const html = await ((await page) as { toString(): string | Promise<string> }).toString();
  return c.html(`<!DOCTYPE html>${html}`, status as 200);
}

/** A posted form's fields, all text: a file (multipart) in a field's place is refused (400), not dropped. */
export async function textForm(c: Context<WebEnv>): Promise<Record<string, string>> {
  const body = (await c.req.parseBody()) as Record<string, unknown>;
  const files = Object.keys(body).filter((name) => typeof body[name] !== 'string');
  if (files.length > 0) throw new AccordError('bad_request', `Form fields must be text: ${files.join(', ')}`);
  return body as Record<string, string>;
}
