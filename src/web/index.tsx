import { Hono, type Context } from 'hono';
import { deleteCookie, getCookie, setCookie } from 'hono/cookie';
import { appendAudit } from '../audit/log.ts';
import { type AuthGuard } from '../auth/abuse.ts';
import type { Deps } from '../deps.ts';
import { AccordError } from '../errors.ts';
import { auditRequest, requestAddress } from '../http/auth.ts';
import { CONTENT_SECURITY_POLICY, contentSecurityPolicy } from '../http/security-headers.ts';
import { assetAt } from './assets.ts';
import { ErrorBox, Layout } from './layout.tsx';
import { registerAuditPages } from './pages/audit.tsx';
import { registerChangesPages } from './pages/changes.tsx';
import { registerContractsPages } from './pages/contracts.tsx';
import { HomePage } from './pages/home.tsx';
import { registerMatrixPages } from './pages/matrix.tsx';
import { registerNoticesPages } from './pages/notices.tsx';
import { registerOperationsPages } from './pages/operations.tsx';
import type { Runtime } from '../runtime/index.ts';
import { closeSession, openSession, randomSecret, resolveSession, sameSecret } from './sessions.ts';
import { pageContext, sendPage, sessionOf, type WebEnv } from './types.ts';

const SESSION_COOKIE = 'accord_session';
/** The sign-in form's own CSRF token (there is no session yet): a cookie and a field that must match. */
const SIGN_IN_COOKIE = 'accord_sign_in';

/** The console's policy: its own stylesheet and scripts, nothing inline, nothing from elsewhere. */
export const CONSOLE_CSP = contentSecurityPolicy({
  ...CONTENT_SECURITY_POLICY,
  'style-src': ["'self'"],
  'script-src': ["'self'"],
  'img-src': ["'self'", 'data:'],
  'connect-src': ["'self'"],
});

function cookieOptions(deps: Deps, maxAgeSeconds?: number) {
  return {
    path: '/console',
    httpOnly: true,
    sameSite: 'Strict' as const,
    secure: deps.config.publicUrl.startsWith('https:'),
    ...(maxAgeSeconds === undefined ? {} : { maxAge: maxAgeSeconds }),
  };
}

/** A page that says what went wrong, with the status of the error. */
function errorPage(c: Context<WebEnv>, error: AccordError) {
  const session = c.get('session');
  const ctx = session && { principal: session.principal, csrf: session.csrf, path: c.req.path };
  return sendPage(
    c,
    <Layout title={error.status === 404 ? 'Not found' : error.status === 403 ? 'Not allowed' : 'Something went wrong'} ctx={ctx}>
      <ErrorBox message={error.message} errors={error.errors} />
      <p>
        <a href="/console">Back to the console</a>
      </p>
    </Layout>,
    error.status as 400,
  );
}

function signInPage(c: Context<WebEnv>, deps: Deps, status: 200 | 401 | 403 | 429, message?: string) {
  const csrf = randomSecret();
  setCookie(c, SIGN_IN_COOKIE, csrf, cookieOptions(deps, 3600));
  return sendPage(
    c,
    <Layout title="Sign in">
      <ErrorBox message={message} />
      <p>Sign in with your Accord token. It is checked once; the console then keeps a session (the token is never stored in your browser).</p>
      <form method="post" action="/console/sign-in">
        <input type="hidden" name="_csrf" value={csrf} />
        <div class="field">
          <label for="token">Token</label>
          <input id="token" name="token" type="password" autocomplete="off" required />
        </div>
        <button type="submit">Sign in</button>
      </form>
    </Layout>,
    status,
  );
}

/**
 * The console at /console: server-rendered pages over the same domain functions as /v1, with
 * sessions (the cookie names a server-side session; the token itself is never kept by the
 * browser), CSRF tokens on every form and the API's roles, scopes and partner isolation.
 */
export function consoleRouter(deps: Deps, guard: AuthGuard, runtime: Runtime): Hono<WebEnv> {
  const app = new Hono<WebEnv>();

  app.use(async (c, next) => {
    c.header('Content-Security-Policy', CONSOLE_CSP);
    c.header('X-Frame-Options', 'DENY');
    await next();
    // Pages show what one user may read: no shared or browser cache keeps them (assets say otherwise).
    if (!c.res.headers.has('Cache-Control')) c.res.headers.set('Cache-Control', 'no-store');
  });

  app.get('/assets/:name', (c) => {
    const asset = assetAt(c.req.path);
    if (!asset) throw new AccordError('not_found', `No asset ${c.req.param('name')}`);
    return c.body(new Uint8Array(asset.body), 200, { 'Content-Type': asset.type, 'Cache-Control': 'public, max-age=31536000, immutable' });
  });

  app.get('/sign-in', (c) => signInPage(c, deps, 200));
  app.post('/sign-in', async (c) => {
    const form = await c.req.parseBody();
    if (!sameSecret(getCookie(c, SIGN_IN_COOKIE), typeof form._csrf === 'string' ? form._csrf : undefined)) {
      return signInPage(c, deps, 403, 'The form expired or did not come from this console; sign in again.');
    }
    const token = typeof form.token === 'string' ? form.token.trim() : '';
    let principal;
    try {
      principal = await guard.authenticate(`Bearer ${token}`, () => requestAddress(deps, c));
    } catch (error) {
      if (!(error instanceof AccordError)) throw error;
      return signInPage(c, deps, error.status === 429 ? 429 : 401, error.status === 429 ? error.message : 'That token is not valid (unknown, revoked or expired).');
    }
    const secret = await openSession(deps, principal);
    deleteCookie(c, SIGN_IN_COOKIE, { path: '/console' });
    setCookie(c, SESSION_COOKIE, secret, cookieOptions(deps, Math.floor(deps.config.sessionMaxMs / 1000)));
    await appendAudit(deps, { actor: principal.name, role: principal.role, action: 'console.sign-in', target: `token ${principal.tokenId}`, outcome: 'ok', detail: { requestId: c.get('requestId') } });
    return c.redirect('/console', 303);
  });

  // Every other page needs a session.
  app.use(async (c, next) => {
    const session = await resolveSession(deps, getCookie(c, SESSION_COOKIE));
    if (!session) {
      if (c.req.method === 'GET' || c.req.method === 'HEAD') return c.redirect('/console/sign-in', 303);
      throw new AccordError('unauthorized', 'Your session has ended; sign in again');
    }
    c.set('session', session);
    c.set('principal', session.principal);
    await next();
    if (c.req.method === 'GET' || c.req.method === 'HEAD') return;
    // Like the API, every state-changing console action is audited, refused ones included.
    await auditRequest(deps, c, session.principal, `console ${c.req.method} ${c.req.path}`);
  });

  // Every form posts the session's CSRF token back.
  app.use(async (c, next) => {
    if (c.req.method !== 'GET' && c.req.method !== 'HEAD') {
      const form = await c.req.parseBody();
      if (!sameSecret(sessionOf(c).csrf, typeof form._csrf === 'string' ? form._csrf : undefined)) {
        throw new AccordError('forbidden', 'This form did not come from your console session (missing or wrong CSRF token); reload the page and try again');
      }
    }
    await next();
  });

  app.post('/sign-out', async (c) => {
    await closeSession(deps, sessionOf(c).idHash);
    deleteCookie(c, SESSION_COOKIE, { path: '/console' });
    return c.redirect('/console/sign-in', 303);
  });

  app.get('/', (c) => sendPage(c, <HomePage deps={deps} ctx={pageContext(c)} />));
  registerContractsPages(app, deps);
  registerChangesPages(app, deps);
  registerNoticesPages(app, deps);
  registerMatrixPages(app, deps);
  registerAuditPages(app, deps);
  registerOperationsPages(app, deps, runtime);

  // Last route, not notFound(): a mounted router's notFound is never called (the API's problem+json would answer).
  app.all('*', (c) => errorPage(c, new AccordError('not_found', `No page ${c.req.path}`)));
  app.onError((error, c) => {
    if (error instanceof AccordError) return errorPage(c, error);
    deps.logger.error({ err: error, requestId: c.get('requestId'), path: c.req.path }, 'unhandled console error');
    return errorPage(c, new AccordError('internal', `An unexpected error occurred; quote request id ${c.get('requestId')} when reporting it`));
  });
  return app;
}
