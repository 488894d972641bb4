import { randomUUID } from 'node:crypto';
import { performance } from 'node:perf_hooks';
import { Hono, type Context } from 'hono';
import { HTTPException } from 'hono/http-exception';
import { AuthGuard } from './auth/abuse.ts';
import type { Deps } from './deps.ts';
import { AccordError } from './errors.ts';
import { auditRequest, authenticate, documentedOperation, exchangeScope, requestAddress } from './http/auth.ts';
import { bodyLimit } from './http/body-limit.ts';
import { allowedMethods } from './http/methods.ts';
import { contractsRouter } from './http/contracts.ts';
import { auditRouter } from './http/audit.ts';
import { changesRouter } from './http/changes.ts';
import { evidenceRouter } from './http/evidence.ts';
import { freezesRouter } from './http/freezes.ts';
import { gateRouter } from './http/gate.ts';
import { importsRouter } from './http/imports.ts';
import { releasesRouter } from './http/releases.ts';
import { reviewItemsRouter } from './http/review-items.ts';
import { diffRouter } from './http/diff.ts';
import { docsRouter } from './http/docs.ts';
import { metaRouter } from './http/meta.ts';
import { exchangeHop } from './http/exchange/hop.ts';
import { exchangeRouter } from './http/exchange/router.ts';
import { matrixRouter } from './http/matrix.ts';
import { noticesRouter } from './http/notices.ts';
import { policyRouter } from './http/policy.ts';
import { rulesetsRouter } from './http/rulesets.ts';
import { setSecurityHeaders } from './http/security-headers.ts';
import { tokensRouter } from './http/tokens.ts';
import { webhooksRouter } from './http/webhooks.ts';
import { partnersRouter } from './http/partners.ts';
import type { Runtime } from './runtime/index.ts';
import { transactionsRouter } from './http/transactions.ts';
import type { AppEnv } from './http/env.ts';
import { faultsRouter } from './http/faults.ts';
import { slaRouter } from './http/sla.ts';
import { syntheticRouter } from './http/synthetic.ts';
import { certificationsRouter } from './http/certifications.ts';
import { scorecardsRouter } from './http/scorecards.ts';
import { operatorViewsRouter } from './http/operator-views.ts';
import { approvalsRouter } from './http/approvals.ts';
import { incidentsRouter } from './http/incidents.ts';
import { opsOverviewRouter } from './http/ops-overview.ts';
import { failureClustersRouter } from './http/failure-clusters.ts';
import { consoleRouter } from './web/index.tsx';

const REQUEST_ID = /^[A-Za-z0-9._:-]{1,128}$/;

/**
 * Builds the Accord HTTP application over injected dependencies (and the exchange runtime it
 * serves). `guard` holds the abuse-limit counters and the aggregated refusal rows; the service
 * flushes it when a minute ends and at shutdown.
 */
export function createApp(deps: Deps, runtime: Runtime, guard: AuthGuard = new AuthGuard(deps)): Hono<AppEnv> {
  const app = new Hono<AppEnv>();

  // Every request: the security headers, its X-Request-Id, an exchange request's trace context,
  // http_server_request_duration_seconds by method, route template and status (never ids) and
  // the access-log line — one middleware layer for all of them, as it wraps every request.
  app.use(async (c, next) => {
    const started = performance.now();
    setSecurityHeaders(c);
    const incoming = c.req.header('x-request-id');
    const requestId = incoming && REQUEST_ID.test(incoming) ? incoming : randomUUID();
    c.set('requestId', requestId);
    c.header('X-Request-Id', requestId);
    // Exchange answers carry the correlation id and trace context, even a 413 from the body limit.
    if (c.req.path.startsWith('/exchange/')) exchangeHop(c);
    await next();
    const seconds = (performance.now() - started) / 1000;
    // An exchange request is labelled by the contract operation it reached (bounded by the served contracts), not /exchange/*.
    const exchange = c.get('exchangeOperation');
    const route = exchange ? `${exchange.partner}/${exchange.api}/${exchange.major} ${exchange.operation}` : c.req.routePath;
    if (deps.metrics.enabled) deps.metrics.httpDuration.observe({ method: c.req.method, route, status: c.res.status, exchange }, seconds);
    // The access log: one line per request (never its query, which may hold a feed token).
    if (deps.logger.isLevelEnabled('info')) {
      const principal = c.get('principal');
      deps.logger.info(
        { method: c.req.method, route, path: c.req.path, status: c.res.status, durationMs: Math.round(seconds * 10_000) / 10, requestId, correlationId: c.res.headers.get('x-correlation-id') ?? c.req.header('x-correlation-id'), principal: principal?.tokenId, principalName: principal?.name },
        'request',
      );
    }
  });

  // Every state-changing request of an authenticated caller is audited, refused ones included
  // (hash-chained log). Nothing unauthenticated writes a row of its own: the guard counts it in
  // its aggregated rows (one per source and minute), so a flood cannot grow the log per request.
  app.use('/v1/*', async (c, next) => {
    await next();
    if (c.get('refusalAggregated')) return;
    const status = c.res.status;
    const principal = c.get('principal');
    if (!principal) return await guard.refusedUnauthenticated(requestAddress(deps, c), status);
    // Reads are audited only when refused (403); every write is.
    if ((c.req.method === 'GET' || c.req.method === 'HEAD' || c.req.method === 'OPTIONS') && status !== 403) return;
    const route = [...c.req.matchedRoutes].reverse().find((r) => r.method !== 'ALL');
    await auditRequest(deps, c, principal, `${c.req.method} ${route?.path ?? c.req.path}`);
  });

  // Authentication before the body limit: an unauthenticated request is refused (and counted in
  // the aggregated rows) before its body or its declared length is looked at.
  app.use('/v1/*', authenticate(deps, guard, documentedOperation));
  app.use('/exchange/*', authenticate(deps, guard, exchangeScope));
  app.use(bodyLimit(deps.config.bodyLimit));

  app.route('/', metaRouter(deps));
  app.route('/', docsRouter());
  app.route('/', contractsRouter(deps));
  app.route('/', diffRouter(deps));
  app.route('/', matrixRouter(deps));
  app.route('/', policyRouter(deps));
  app.route('/', importsRouter(deps));
  app.route('/', rulesetsRouter(deps));
  app.route('/', tokensRouter(deps));
  app.route('/', noticesRouter(deps));
  app.route('/', webhooksRouter(deps));
  app.route('/', partnersRouter(deps));
  app.route('/', certificationsRouter(deps, runtime.certifier));
  app.route('/', changesRouter(deps));
  app.route('/', evidenceRouter(deps));
  app.route('/', gateRouter(deps));
  app.route('/', reviewItemsRouter(deps));
  app.route('/', releasesRouter(deps));
  app.route('/', freezesRouter(deps));
  app.route('/', auditRouter(deps));
  app.route('/', transactionsRouter(deps, runtime));
  app.route('/', faultsRouter(deps, runtime));
  app.route('/', slaRouter(runtime));
  app.route('/', syntheticRouter(deps, runtime));
  app.route('/', scorecardsRouter(deps, runtime));
  app.route('/', operatorViewsRouter(deps, runtime));
  app.route('/', approvalsRouter(deps, runtime));
  app.route('/', incidentsRouter(deps, runtime));
  app.route('/', opsOverviewRouter(deps, runtime));
  app.route('/', failureClustersRouter(deps, runtime));
  app.route('/exchange', exchangeRouter(deps, runtime));
  app.get('/', (c) => c.redirect('/console', 302));
  app.route('/console', consoleRouter(deps, guard, runtime));

  // A known path with a method it does not serve: 405 with the methods it does (RFC 9110 §15.5.6).
  let allowedAt: ((path: string) => string[]) | undefined;
  app.notFound((c) => {
    allowedAt ??= allowedMethods(app.routes);
    const allow = allowedAt(c.req.path);
    if (allow.length === 0) return problemResponse(c, new AccordError('not_found', `No route ${c.req.method} ${c.req.path}`));
    const response = problemResponse(c, new AccordError('method_not_allowed', `${c.req.path} does not accept ${c.req.method}; it accepts ${allow.join(', ')}`));
    response.headers.set('Allow', allow.join(', '));
    return response;
  });

  app.onError((error, c) => {
    let accordError: AccordError;
    if (error instanceof AccordError) accordError = error;
    else if (error instanceof HTTPException && error.status < 500) accordError = new AccordError(error.status === 413 ? 'payload_too_large' : 'bad_request', error.message);
    else {
      deps.logger.error({ err: error, requestId: c.get('requestId'), path: c.req.path }, 'unhandled error');
      accordError = new AccordError('internal', 'An unexpected error occurred; quote the requestId when reporting it');
    }
    return problemResponse(c, accordError);
  });

  // Certifying the reference partner goes through this app's own exchange, in-process.
  runtime.certifier.serveSelf((request) => app.fetch(request));
  return app;
}

/** Renders an AccordError as an application/problem+json response. */
function problemResponse(c: Context<AppEnv>, error: AccordError): Response {
  const problem = error.toProblem({ instance: c.req.path, requestId: c.get('requestId') });
  const headers: Record<string, string> = { 'Content-Type': 'application/problem+json' };
  if (error.code === 'unauthorized') headers['WWW-Authenticate'] = 'Bearer realm="accord"';
  if (error.retryAfterSeconds !== undefined) headers['Retry-After'] = String(error.retryAfterSeconds);
  return c.body(JSON.stringify(problem), error.status as 400, headers);
}
