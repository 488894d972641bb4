import { createHash } from 'node:crypto';
import { performance } from 'node:perf_hooks';
import { Hono, type Context } from 'hono';
import semver from 'semver';
import type { Deps } from '../context.ts';
import { GroupCommit } from '../db/group-commit.ts';
import { AccordError, type FieldError } from '../errors.ts';
import { principalOf, type AppEnv } from '../http/types.ts';
import { emptyDictionary, jsonTextDeeperThan, valueAt, type Json } from '../lib/json.ts';
import { absoluteUrl } from '../lib/public-url.ts';
import { MAX_DEPTH } from '../lib/yaml.ts';
import type { FlowEntry } from '../matrix/checks.ts';
import { durationMs } from '../matrix/durations.ts';
import { bodyErrors, documentedResponse, parameterErrors, responseErrors } from './contract-check.ts';
import { takeFault } from './faults.ts';
import { handleReference, peekReference, type HandlerResult } from './handlers.ts';
import { IdempotencyStore, type Claim } from './idempotency.ts';
import type { Runtime } from './index.ts';
import { pastSunset, type Route } from './route-table.ts';
import { countExchange, countPartnerAnswer, type ExchangeRecord, recordExchange } from './saga/engine.ts';
import { exchangeHopOf, hopHeaders, type ExchangeHop } from './trace-context.ts';

/** Bodies up to this size get every validation problem listed; larger ones the first. */
const DETAILED_BODY_BYTES = 64 * 1024;

/**
 * The reference exchange runtime's router: every released (and, in the sandbox environment,
 * approved) contract version is served at /exchange/{partner}/{api}/v{major}/…, the newest
 * version of each major line, with routes, validation and idempotency taken from the contract
 * and the control matrix. The route table is rebuilt whenever contracts change.
 */
export function exchangeRouter(deps: Deps, runtime: Runtime): Hono<AppEnv> {
  const { routes, sla, stats } = runtime;
  const app = new Hono<AppEnv>();
  const store = new IdempotencyStore(deps);
  const commits = new GroupCommit(deps.db.$client);

  /**
   * A refusal in the contract's dialect: the media type the contract documents for that status
   * (a FHIR OperationOutcome or problem+json); undocumented statuses follow the operation's media.
   */
  function refuse(c: Context<AppEnv>, route: Route | undefined, status: number, code: string, detail: string, errors: FieldError[] = []): Response {
    if (route && documentedMedia(route, status, route.fhir)) {
      const outcome = { resourceType: 'OperationOutcome', issue: (errors.length ? errors : [{ location: '', message: detail }]).map((e) => ({ severity: 'error', code, diagnostics: e.message, ...(e.location ? { expression: [e.location] } : {}) })) };
      return c.body(JSON.stringify(outcome), status as 400, { 'Content-Type': 'application/fhir+json' });
    }
    const problem = new AccordError(status >= 500 ? 'unavailable' : status === 409 ? 'conflict' : status === 422 ? 'invalid_document' : status === 404 ? 'not_found' : status === 410 ? 'not_found' : 'bad_request', detail, { errors }).toProblem({ instance: c.req.path, requestId: c.get('requestId') });
    return c.body(JSON.stringify({ ...problem, status }), status as 400, { 'Content-Type': 'application/problem+json' });
  }

  app.all('/:partner/:api/:major/*', async (c) => {
    let res: Response | undefined;
    try {
      res = await serve(c);
      return res;
    } finally {
      // Per-partner counters for scorecards: every answered request of a served line (a throw answers 500).
      const seen = c.get('exchange');
      if (seen) {
        const status = res?.status ?? 500;
        stats.count(seen.partner, {
          requests: 1,
          accepted: status < 400 ? 1 : 0,
          errors: status >= 400 ? 1 : 0,
          // A clear code tells the caller what to fix (a specific 4xx); 5xx and timeouts do not.
          errorsCoded: status >= 400 && status < 500 ? 1 : 0,
          duplicates: seen.duplicate ? 1 : 0,
          duplicatesReplayed: seen.duplicate === 'replayed' ? 1 : 0,
          withCorrelation: seen.correlation ? 1 : 0,
          withTraceparent: seen.traceparent ? 1 : 0,
          withBoth: seen.correlation && seen.traceparent ? 1 : 0,
        });
      }
    }
  });

  /** One exchange request, from authentication to the answer. */
  async function serve(c: Context<AppEnv>): Promise<Response> {
    const requestStart = performance.now();
    const { givenCorrelation, correlationId, trace, spanId, tracestate } = c.get('hop') ?? exchangeHop(c); // the app sets it first on /exchange
    // Authenticated by the app (src/http/auth.ts), after the ids: a 401 carries them too.
    const principal = principalOf(c);
    const { partner, api, major } = c.req.param() as { partner: string; api: string; major: string };
    const prefix = `/exchange/${partner}/${api}/${major}`;
    const decoded = safeDecode(decodeURI, c.req.path.slice(prefix.length));
    const rest = decoded === '' ? '/' : decoded;
    if (rest === undefined) return refuse(c, undefined, 400, 'invalid', 'The path has a malformed percent-encoding', [{ location: 'path', message: 'malformed percent-encoding' }]);
    const candidates = await routes.line(`${partner}/${api}/${major}`);
    if (candidates.length === 0) return refuse(c, undefined, 404, 'not-found', `No released contract serves ${prefix}`);
    const matching = candidates.map((r) => ({ r, m: r.pattern.exec(rest) })).filter((x) => x.m);
    if (matching.length === 0) return refuse(c, undefined, 404, 'not-found', `${partner}/${api} ${major} has no path ${rest}`);
    // HEAD is served wherever GET is (RFC 9110 §9.3.2); the adapter sends no body.
    const method = c.req.method === 'HEAD' ? 'GET' : c.req.method;
    const hit = matching.find((x) => x.r.method === method);
    if (!hit) {
      const allowed = new Set(matching.map((x) => x.r.method));
      if (allowed.has('GET')) allowed.add('HEAD');
      c.header('Allow', [...allowed].join(', '));
      return refuse(c, matching[0]!.r, 405, 'not-supported', `${c.req.method} is not allowed on ${rest}`);
    }
    const route = hit.r;
    const seen: ExchangeSeen = { partner, correlation: givenCorrelation !== undefined, traceparent: trace.valid };
    c.set('exchange', seen);
    const retryAfter = route.flow ? sla.throttled(route.flow.flow, partner) : undefined;
    if (retryAfter !== undefined) {
      c.header('Retry-After', String(retryAfter));
      return refuse(c, route, 429, 'throttled', `${route.flow!.flow} at ${partner} is throttled by an SLA intervention (GET /v1/sla); retry after ${retryAfter} s`);
    }

    // Deprecated versions say so (RFC 9745 / 8594); after the sunset they are gone.
    const deprecation = route.deprecation;
    if (pastSunset(route, deps.clock())) return refuse(c, route, 410, 'not-found', `${partner}/${api} ${route.version} reached its sunset${deprecation ? ` on ${deprecation.sunset.slice(0, 10)}` : ''}`);
    if (deprecation) {
      const sunset = new Date(deprecation.sunset);
      c.header('Deprecation', `@${Math.floor(new Date(deprecation.deprecatedAt).getTime() / 1000)}`);
      c.header('Sunset', sunset.toUTCString());
      // Both point at what the partner should read: the release notes, and the notices feed that announced the window.
      const links = [`<${absoluteUrl(deps.config, `/v1/contracts/${partner}/${api}/versions/${route.version}/release-notes`)}>; rel="deprecation"`, `<${absoluteUrl(deps.config, '/v1/notices')}>; rel="sunset"`];
      if (deprecation.successor) links.push(`<${absoluteUrl(deps.config, `/exchange/${partner}/${api}/v${semver.major(deprecation.successor)}`)}>; rel="successor-version"`);
      c.header('Link', links.join(', '));
    }

    // Validate parameters and body against the contract's own schemas.
    // Parameter names are the contract author's: a `{constructor}` or `{__proto__}` is a name like any other.
    const pathValues = emptyDictionary<string>();
    for (const [i, p] of route.params.entries()) {
      const value = safeDecode(decodeURIComponent, hit.m![i + 1]!);
      if (value === undefined) return refuse(c, route, 400, 'invalid', `Path parameter ${p} has a malformed percent-encoding`, [{ location: `path.${p}`, message: 'malformed percent-encoding' }]);
      pathValues[p] = value;
    }
    const errors: FieldError[] = parameterErrors(route, (where, name) => (where === 'path' ? pathValues[name] : where === 'query' ? c.req.query(name) : where === 'header' ? c.req.header(name) : undefined));
    let body: unknown;
    let rawBody = '';
    const content = route.op.operation.requestBody?.content as Json | undefined;
    if (content) {
      const type = (c.req.header('content-type') ?? '').split(';')[0]!.trim().toLowerCase();
      const media = Object.keys(content).find((m) => m.toLowerCase() === type);
      rawBody = await c.req.text();
      if (!media) {
        if (route.op.operation.requestBody?.required || rawBody) return refuse(c, route, 415, 'not-supported', `Send ${Object.keys(content).join(' or ')}`);
      } else {
        // Measured before parsing and validation: validating (and storing) deeper data would exhaust the stack.
        if (jsonTextDeeperThan(rawBody, MAX_DEPTH)) return refuse(c, route, 400, 'invalid', `The body is nested deeper than ${MAX_DEPTH} levels`, [{ location: 'body', message: `at most ${MAX_DEPTH} levels of nesting` }]);
        try {
          body = JSON.parse(rawBody);
        } catch {
          return refuse(c, route, 400, 'invalid', 'The body is not valid JSON', [{ location: 'body', message: 'not JSON' }]);
        }
        // Every problem of a small body; the first of a large one (listing them all costs too much).
        for (const e of bodyErrors(route, media, body, { detailed: rawBody.length <= DETAILED_BODY_BYTES })) errors.push(e);
      }
    }
    if (errors.length > 0) return refuse(c, route, 400, 'invalid', `The request does not match ${partner}/${api} ${route.version}`, errors);

    // Idempotency per the flow's control-matrix entry (IETF Idempotency-Key semantics).
    const idem = route.idempotencyFlow?.idempotency;
    const key = idem?.keySource.header ? c.req.header('idempotency-key') : undefined;
    if (idem?.keySource.header && !key) return refuse(c, route, 400, 'required', 'This operation needs an Idempotency-Key header', [{ location: 'header.Idempotency-Key', message: 'is required' }]);
    const scope = `${principal.tokenId}|${partner}/${api}/${major} ${route.method} ${route.template}`;
    // The path's parameters are part of the request: the same key for another group or exchange is a different request (422).
    const fingerprint = idem && key ? createHash('sha256').update(`${route.params.length > 0 ? `${JSON.stringify(pathValues)}\n` : ''}${idem.fingerprint.body ? rawBody : JSON.stringify(idem.fingerprint.pointers!.map((p) => valueAt(body, p)))}`).digest('hex') : '';

    // Faults injected for this partner and step (sandbox): some answer before anything happens.
    const step = route.flow?.steps[0];
    const fault = takeFault(deps, { partner, flow: route.flow?.flow, step: step?.id, operationId: route.op.operationId, transactionId: undefined });
    if (fault?.kind === 'timeout') {
      await sleep(step ? durationMs(step.timeout) * deps.config.sagaTimeScale : 0);
      return refuse(c, route, 504, 'timeout', `Injected fault: ${partner} did not answer within ${step?.timeout ?? 'the timeout'}`);
    }
    if (fault?.kind === 'error-status' || fault?.kind === 'validation-error') return refuse(c, route, fault.status ?? 503, fault.kind === 'validation-error' ? 'invalid' : 'transient', `Injected fault: ${partner} answered ${fault.status ?? 503}`);

    // Claim, effect, stored response and transaction record commit in one SQLite transaction
    // (grouped with concurrent requests, ADR 0006): they happen together or not at all, and the
    // answer leaves only after the commit.
    type Exchanged = { claim?: Claim; result?: HandlerResult; headers?: Record<string, string>; body?: string; record?: ExchangeRecord; recorded?: ReturnType<typeof recordExchange> };
    // HEAD answers what GET would, without GET's effects (a poll counts): the work runs in a transaction that is rolled back.
    if (c.req.method === 'HEAD') {
      const peek = peekReference(deps, { partner, operationId: route.op.operationId, params: pathValues, body: {}, base: absoluteUrl(deps.config, prefix), now: deps.clock(), caller: principal });
      return c.body(null, peek.status as 200, { ...(peek.body === null ? {} : { 'Content-Type': route.fhir || peek.status >= 400 ? 'application/fhir+json' : 'application/json' }), ...peek.headers });
    }
    const exchange = (): Promise<Exchanged> => commits.run((): Exchanged => {
      if (idem && key) {
        const claim = store.claim(scope, key, fingerprint, durationMs(idem.dedupeWindow), leaseMs(route.idempotencyFlow!));
        if (claim.kind !== 'proceed') return { claim };
      }
      const started = deps.clock();
      const t0 = performance.now();
      const result = handleReference(deps, { partner, operationId: route.op.operationId, params: pathValues, body: (body ?? {}) as Json, base: absoluteUrl(deps.config, prefix), now: started, caller: principal });
      const responseBody = result.body === null ? '' : JSON.stringify(result.body);
      const headers: Record<string, string> = { ...(result.body === null ? {} : { 'Content-Type': route.fhir || result.status >= 400 ? 'application/fhir+json' : 'application/json' }), ...result.headers };
      if (idem && key) store.complete(scope, key, { status: result.status, headers, body: responseBody });
      if (!route.flow || !step) return { result, headers, body: responseBody };
      const record: ExchangeRecord = { flow: route.flow, step, partner, api, version: route.version, operationId: route.op.operationId!, status: result.status, correlationId, idempotencyKey: key, traceId: trace.traceId, spanId, tracestate: trace.valid ? tracestate : undefined, principal, startedAt: started, latencyMs: performance.now() - t0, fault: fault?.kind };
      return { result, headers, body: responseBody, record, recorded: recordExchange(deps, record) };
    });
    const count = (done: Exchanged) => done.record && countExchange(deps.metrics, done.record, done.recorded!);
    const outcome = await exchange();
    count(outcome);
    // The same request delivered twice: the second is a replay (or a second effect, if idempotency were missing).
    if (fault?.kind === 'duplicate-delivery') count(await exchange());

    const claim = outcome.claim;
    if (claim && claim.kind !== 'proceed' && route.flow) {
      const duplicate = claim.kind === 'replay' ? 'replayed' : claim.kind;
      seen.duplicate = duplicate;
      deps.metrics.duplicates.inc({ partner, flow: route.flow.flow, outcome: duplicate });
    }
    if (claim?.kind === 'mismatch') return refuse(c, route, 422, 'conflict', 'This Idempotency-Key was used with a different request');
    if (claim?.kind === 'in-flight') return refuse(c, route, 409, 'conflict', 'A request with this Idempotency-Key is still being processed; retry later');
    if (claim?.kind === 'replay') {
      // How long a duplicate waited for its (stored) answer: the duplicateResolution SLA.
      if (route.flow) sla.record(route.flow.flow, partner, 'duplicateResolution', (performance.now() - requestStart) / 1000);
      if (idem!.replayPolicy === 'reject') return refuse(c, route, 409, 'duplicate', 'Duplicate request: this Idempotency-Key was already processed (replay policy: reject)');
      const replayHeaders = { ...claim.headers, 'Idempotent-Replayed': 'true', 'X-Correlation-Id': correlationId };
      return claim.body === '' ? c.body(null, claim.status as 202, replayHeaders) : c.body(claim.body, claim.status as 200, replayHeaders);
    }
    const { result, headers, body: responseBody } = outcome as { result: HandlerResult; headers: Record<string, string>; body: string };
    // Answers are checked against the contract too: a mismatch is the schema-drift failure mode.
    const drift = responseErrors(route, result.status, result.body);
    if (drift.length > 0) {
      deps.metrics.schemaDrift.inc({ partner, operation: route.op.operationId ?? route.template });
      deps.logger.warn({ failureMode: 'schema-drift', correlationId, traceId: trace.traceId, partner, flow: route.flow?.flow, step: step?.id, operationId: route.op.operationId, status: result.status, errors: drift.slice(0, 5) }, 'answer does not match the contract');
    }
    // A delayed answer: past the step's timeout it is a timeout (the effect is stored; a retry with the key gets it).
    const timeoutMs = step ? durationMs(step.timeout) * deps.config.sagaTimeScale : Number.POSITIVE_INFINITY;
    const late = fault?.kind === 'delayed-event' && (fault.delayMs ?? 0) > timeoutMs;
    if (fault?.kind === 'delayed-event') await sleep(Math.min(fault.delayMs ?? 0, timeoutMs));
    // The caller waited this long for the answer: that is what the SLA measures.
    if (route.flow && step) observeExchange(deps, sla, route.flow.flow, partner, step.id, route.op.operationId, fault?.kind === 'partial-write' ? 500 : late ? 504 : result.status, (performance.now() - requestStart) / 1000);
    if (late) return refuse(c, route, 504, 'timeout', `Injected fault: ${partner}'s answer was delayed beyond the ${step!.timeout} timeout; the change may have been made: retry with the same Idempotency-Key`);
    // Partial write: the effect is stored, the caller sees a failure; a retry with the same key gets the stored answer.
    if (fault?.kind === 'partial-write') return refuse(c, route, 500, 'exception', `Injected fault: ${partner} wrote the change but failed to answer; retry with the same Idempotency-Key`);
    return result.body === null ? c.body(null, result.status as 202, headers) : c.body(responseBody, result.status as 200, headers);
  }

  return app;
}

/** The in-flight lease: the slowest step's timeout, so a crash frees the key soon after. */
function leaseMs(flow: FlowEntry): number {
  return Math.max(...flow.steps.map((s) => durationMs(s.timeout)), 1000);
}


/** Whether the contract answers `status` of this operation as FHIR (else problem+json); `fallback` when it documents no body for it. */
function documentedMedia(route: Route, status: number, fallback: boolean): boolean {
  const media = Object.keys((documentedResponse(route, status)?.response?.content as Json | undefined) ?? {});
  if (media.length === 0) return fallback;
  return media.some((m) => m.includes('fhir'));
}

/** `decode(text)`, or undefined when its percent-encoding is malformed. */
function safeDecode(decode: (text: string) => string, text: string): string | undefined {
  try {
    return decode(text);
  } catch {
    return undefined;
  }
}

function sleep(ms: number): Promise<void> {
  return ms > 0 ? new Promise((resolve) => setTimeout(resolve, ms)) : Promise.resolve();
}

/**
 * Takes or makes the request's X-Correlation-Id and continues its W3C trace with a new span,
 * and puts both on the answer. The app runs it first on /exchange, so every answer there
 * carries them, a 413 or 401 included.
 */
export function exchangeHop(c: Context<AppEnv>): ExchangeHop {
  const hop = exchangeHopOf({ correlationId: c.req.header('x-correlation-id'), traceparent: c.req.header('traceparent'), tracestate: c.req.header('tracestate') });
  for (const [name, value] of Object.entries(hopHeaders(hop))) c.header(name, value);
  c.set('hop', hop);
  return hop;
}

/** What the scorecard counters learn about one exchange request. */
export interface ExchangeSeen {
  partner: string;
  correlation: boolean;
  traceparent: boolean;
  duplicate?: 'replayed' | 'in-flight' | 'mismatch';
}

/** Telemetry of one answered direct request: acceptance, member matches, SLA samples. */
function observeExchange(deps: Deps, sla: Runtime['sla'], flow: string, partner: string, step: string, operationId: string | undefined, status: number, seconds: number): void {
  const accepted = status >= 200 && status < 300;
  countPartnerAnswer(deps.metrics, { partner, flow, step, operationId, status, accepted });
  // A direct request is acknowledged, and finished, when it is answered.
  const labels = { partner, flow };
  const at = deps.clock().getTime();
  deps.metrics.timeToAcknowledge.observe(labels, seconds);
  sla.record(flow, partner, 'timeToAcknowledge', seconds, at);
  if (accepted) {
    deps.metrics.timeToFinalize.observe(labels, seconds);
    sla.record(flow, partner, 'timeToFinalize', seconds, at);
  }
  sla.record(flow, partner, 'errorRate', accepted ? 0 : 1, at);
}
