import type { Child } from 'hono/jsx';
import type { Principal } from '../auth/principal.ts';
import { assetPath } from './assets.ts';
import { mayCall } from '../http/api.ts';
import { listAudit as listAuditOp } from '../http/operations/audit.ts';

/** What every page needs to know about the request: who is signed in and the form token. */
export interface PageContext {
  principal: Principal;
  csrf: string;
  /** The path of the page, for the navigation's aria-current. */
  path: string;
}

const STAFF_NAV: Array<[string, string, (p: Principal) => boolean]> = [
  ['/console', 'Home', () => true],
  ['/console/contracts', 'Contracts', () => true],
  ['/console/changes', 'Changes', () => true],
  ['/console/notices', 'Notices', () => true],
  ['/console/matrix', 'Control matrix', () => true],
  ['/console/operations', 'Operations', () => true],
  ['/console/audit', 'Audit', (p) => mayCall(p, listAuditOp)],
];

function current(path: string, href: string): boolean {
  return href === '/console' ? path === '/console' : path === href || path.startsWith(`${href}/`);
}

/** The hidden field carrying the session's CSRF token: every form that changes something posts it. */
export function CsrfField(props: { csrf: string }) {
  return <input type="hidden" name="_csrf" value={props.csrf} />;
}

/**
 * The page frame: skip link, banner with navigation and the signed-in user (sign-out is a form),
 * the main landmark and a footer. `head` adds elements to <head> (e.g. a feed link).
 */
export function Layout(props: { title: string; ctx?: PageContext; head?: Child; children?: Child }) {
  const { ctx } = props;
  return (
    <html lang="en">
      <head>
        <meta charset="utf-8" />
        <meta name="viewport" content="width=device-width, initial-scale=1" />
        <title>{`${props.title} · Accord`}</title>
        <link rel="stylesheet" href={assetPath('console.css')} />
        {props.head}
      </head>
      <body>
        <a class="skip" href="#main">
          Skip to content
        </a>
        <header class="site">
          <a class="brand" href="/console">
            Accord
          </a>
          {ctx && (
            <nav aria-label="Main">
              <ul>
                {STAFF_NAV.filter(([, , shown]) => shown(ctx.principal)).map(([href, label]) => (
                  <li>
                    <a href={href} aria-current={current(ctx.path, href) ? 'page' : undefined}>
                      {label}
                    </a>
                  </li>
                ))}
              </ul>
            </nav>
          )}
          {ctx && (
            <div class="who">
              <span>
                {ctx.principal.name} · {ctx.principal.role}
                {ctx.principal.partner ? ` · ${ctx.principal.partner}` : ''}
              </span>
              <form class="inline" method="post" action="/console/sign-out">
                <CsrfField csrf={ctx.csrf} />
                <button type="submit">Sign out</button>
              </form>
            </div>
          )}
        </header>
        <main id="main">
          <h1>{props.title}</h1>
          {props.children}
        </main>
        <footer class="site">Accord — contract governance for payer-to-payer exchange</footer>
      </body>
    </html>
  );
}

/** An error shown in place, above a form or a page's content. */
export function ErrorBox(props: { message?: string; errors?: Array<{ location: string; message: string }> }) {
  if (!props.message) return null;
  return (
    <div class="error" role="alert">
      <p>{props.message}</p>
      {props.errors && props.errors.length > 0 && (
        <ul>
          {props.errors.map((e) => (
            <li>
              {e.location ? <code>{e.location}</code> : null} {e.message}
            </li>
          ))}
        </ul>
      )}
    </div>
  );
}
