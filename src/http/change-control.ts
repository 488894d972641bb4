import { Hono } from 'hono';
import { requireRole } from '../auth/principal.ts';
import { acknowledgeChange, createChange, listChanges, reviewChange, toChangeSummary } from '../changes/changes.ts';
import { consumersOf, setConsumers } from '../changes/consumers.ts';
import { awaitingPrincipal } from '../changes/queue.ts';
import { recordRelease } from '../changes/releases.ts';
import { changeView } from '../changes/view.ts';
import type { Deps } from '../context.ts';
import { AccordError } from '../errors.ts';
import { checkGate, getDecision } from '../gate/check.ts';
import { absoluteUrl } from '../lib/public-url.ts';
import { jsonBody, principalOf, type AppEnv } from './types.ts';

const STAFF = ['admin', 'author', 'approver', 'ci'] as const;

/** /v1/changes, /v1/gate, /v1/releases. */
export function changeControlRouter(deps: Deps): Hono<AppEnv> {
  const app = new Hono<AppEnv>();

  app.post('/changes', async (c) => {
    const change = await createChange(deps, principalOf(c), await jsonBody(c));
    c.header('Location', absoluteUrl(deps.config, `/v1/changes/${change.id}`));
    return c.json(toChangeSummary(change), 201);
  });
  app.get('/changes', (c) => {
    const principal = principalOf(c);
    const { awaiting, partner, api } = c.req.query();
    if (awaiting !== undefined) {
      if (awaiting !== 'me') throw new AccordError('bad_request', '?awaiting takes one value: me', { errors: [{ location: 'awaiting', message: 'must be "me"' }] });
      if (partner !== undefined || api !== undefined) throw new AccordError('bad_request', '?awaiting=me lists what awaits you; it takes no partner or api filter', { errors: [{ location: partner !== undefined ? 'partner' : 'api', message: 'not with awaiting=me' }] });
      return c.json(awaitingPrincipal(deps, principal).map(toChangeSummary));
    }
    requireRole(principal, STAFF, 'list change requests (a partner lists those awaiting its acknowledgement with ?awaiting=me)');
    return c.json(listChanges(deps, { partner, api }));
  });
  app.get('/changes/:id', async (c) => c.json(await changeView(deps, principalOf(c), c.req.param('id'), c.req.query('environment') ?? 'production')));
  app.post('/changes/:id/reviews', async (c) => c.json(await reviewChange(deps, principalOf(c), c.req.param('id'), await jsonBody(c)), 201));
  app.post('/changes/:id/acknowledgements', async (c) => {
    const body = c.req.header('content-length') === '0' || !c.req.header('content-type') ? {} : await jsonBody(c);
    return c.json(acknowledgeChange(deps, principalOf(c), c.req.param('id'), body), 201);
  });

  app.post('/gate/check', async (c) => c.json(await checkGate(deps, principalOf(c), await jsonBody(c))));
  app.get('/gate/decisions/:id', (c) => {
    requireRole(principalOf(c), STAFF, 'read gate decisions');
    return c.json(getDecision(deps, c.req.param('id')));
  });

  app.post('/releases', async (c) => c.json(await recordRelease(deps, principalOf(c), await jsonBody(c)), 201));

  app.get('/contracts/:partner/:api/consumers', (c) => c.json({ consumers: consumersOf(deps, c.req.param('partner'), c.req.param('api')) }));
  app.put('/contracts/:partner/:api/consumers', async (c) => c.json({ consumers: setConsumers(deps, principalOf(c), c.req.param('partner'), c.req.param('api'), (await jsonBody(c)).consumers) }));

  return app;
}
