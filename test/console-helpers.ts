import type { TestService } from './harness.ts';

/** A signed-in console user driven in-process: keeps the session cookie and the page's CSRF token. */
export interface ConsoleUser {
  cookie: string;
  csrf: string;
  /** GET a console page (with the session cookie). */
  get(path: string): Promise<Response>;
  /** POST a form (the session's CSRF token added unless `_csrf` is given; `null` leaves it out). */
  post(path: string, fields?: Record<string, string | null>): Promise<Response>;
}

function cookiesOf(res: Response): Record<string, string> {
  const out: Record<string, string> = {};
  for (const line of res.headers.getSetCookie()) {
    const [pair] = line.split(';');
    const eq = pair!.indexOf('=');
    out[pair!.slice(0, eq)] = pair!.slice(eq + 1);
  }
  return out;
}

/** The value of the first hidden `_csrf` field on a page. */
export function csrfOf(html: string): string {
  const match = /name="_csrf" value="([^"]+)"/.exec(html);
  if (!match) throw new Error('no _csrf field on the page');
  return match[1]!;
}

/** Signs in to the console with a token, as the sign-in form does; throws unless it redirects home. */
export async function signIn(s: TestService, token: string): Promise<ConsoleUser> {
  const form = await s.app.request('/console/sign-in');
  const signInCookie = cookiesOf(form).accord_sign_in!;
  const res = await s.app.request('/console/sign-in', {
    method: 'POST',
    headers: { 'Content-Type': 'application/x-www-form-urlencoded', Cookie: `accord_sign_in=${signInCookie}` },
    body: new URLSearchParams({ _csrf: csrfOf(await form.text()), token }).toString(),
  });
  if (res.status !== 303 || res.headers.get('location') !== '/console') throw new Error(`sign-in answered ${res.status}`);
  const cookie = `accord_session=${cookiesOf(res).accord_session}`;
  const home = await s.app.request('/console', { headers: { Cookie: cookie } });
  const user: ConsoleUser = {
    cookie,
    csrf: csrfOf(await home.text()),
    get: (path) => Promise.resolve(s.app.request(path, { headers: { Cookie: cookie } })),
    post: (path, fields = {}) => {
      const body = new URLSearchParams();
      const all = { _csrf: user.csrf, ...fields };
      for (const [k, v] of Object.entries(all)) if (v !== null) body.set(k, v);
      return Promise.resolve(s.app.request(path, { method: 'POST', headers: { Cookie: cookie, 'Content-Type': 'application/x-www-form-urlencoded' }, body: body.toString() }));
    },
  };
  return user;
}
