import { Hono } from 'hono';
import type { Deps } from '../../deps.ts';
import { directRequests } from '../../runtime/direct-requests/serve.ts';
import type { Runtime } from '../../runtime/index.ts';
import { principalOf, type AppEnv } from '../env.ts';
import { exchangeHop } from './hop.ts';
import { renderRefusal } from './refusal.ts';

/**
 * /exchange/{partner}/{api}/{major}/…: the reference runtime's served contract versions. Hands
 * each request to the runtime's direct-request pipeline and sends its answer or refusal.
 */
export function exchangeRouter(deps: Deps, runtime: Runtime): Hono<AppEnv> {
  const app = new Hono<AppEnv>();
  const serve = directRequests(deps, runtime);
  app.all('/:partner/:api/:major/*', async (c) => {
    const { partner, api, major } = c.req.param() as { partner: string; api: string; major: string };
    const result = await serve({
      method: c.req.method,
      path: c.req.path,
      partner,
      api,
      major,
      query: (name) => c.req.query(name),
      header: (name) => c.req.header(name),
      text: () => c.req.text(),
      // Authenticated by the app (src/http/auth.ts), after the ids: a 401 carries them too.
      principal: principalOf(c),
      hop: c.get('hop') ?? exchangeHop(c), // the app sets it first on /exchange
    });
    if (result.operation) c.set('exchangeOperation', { partner, api, major, operation: result.operation });
    if (result.kind === 'refusal') return renderRefusal(c, result);
    return result.body === null ? c.body(null, result.status as 202, result.headers) : c.body(result.body, result.status as 200, result.headers);
  });
  return app;
}
