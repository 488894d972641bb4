import { createHash } from 'node:crypto';
import { performance } from 'node:perf_hooks';
import semver from 'semver';
import type { Principal } from '../../auth/principal.ts';
import type { Deps } from '../../deps.ts';
import { AccordError, errorCodeOf, type FieldError } from '../../errors.ts';
import { emptyDictionary, jsonTextDeeperThan, valueAt, type Json } from '../../lib/json.ts';
import { absoluteUrl } from '../../lib/public-url.ts';
import { MAX_DEPTH } from '../../lib/yaml.ts';
import type { FlowEntry } from '../../matrix/checks.ts';
import { durationMs } from '../../matrix/durations.ts';
import { bodyErrors, documentedResponse, parameterErrors, responseErrors } from '../contract-check.ts';
import { takeFault } from '../faults.ts';
import { handleReference, peekReference, type HandlerResult } from '../handlers.ts';
import { IdempotencyStore, type Claim } from '../idempotency.ts';
import type { Runtime } from '../index.ts';
import { pastSunset, type Route } from '../route-table.ts';
import { observeFlow } from '../telemetry.ts';
import type { ExchangeHop } from '../trace-context.ts';
import { businessKeyOf } from '../business-key.ts';
import { countDirectRequest, recordDirectRequest, type DirectRequestRecord, type RecordedDirectRequest } from './record.ts';

/** Bodies up to this size get every validation problem listed; larger ones the first. */
const DETAILED_BODY_BYTES = 64 * 1024;

/** One direct request to /exchange/{partner}/{api}/{major}/…, as plain inputs (no transport). */
export interface DirectRequest {
  /** As sent: HEAD is answered as GET would be, without GET's effects. */
  method: string;
  /** The whole request path, percent-encoded as sent. */
  path: string;
  partner: string;
  api: string;
  /** The path's major segment, e.g. `v2`. */
  major: string;
  query(name: string): string | undefined;
  header(name: string): string | undefined;
  /** The body's text; read only when the operation takes a body. */
  text(): Promise<string>;
  principal: Principal;
  hop: ExchangeHop;
}

/** An answer to send as it is. */
export interface DirectAnswer {
  kind: 'answer';
  /** The contract operation that answered (its operationId): metrics label exchange requests with it. */
  operation?: string;
  status: number;
  headers: Record<string, string>;
  body: string | null;
}

/** A refusal, to render in the contract's dialect: a FHIR OperationOutcome (`fhir`) or problem+json. */
export interface DirectRefusal {
  kind: 'refusal';
  /** The contract operation the request reached, when it reached one. */
  operation?: string;
  status: number;
  /** The OperationOutcome issue code (invalid, not-found, conflict, …). */
  code: string;
  detail: string;
  errors: FieldError[];
  fhir: boolean;
  headers: Record<string, string>;
}

export type DirectResult = DirectAnswer | DirectRefusal;

/** What the scorecard counters learn about one direct request. */
interface Seen {
  partner: string;
  correlation: boolean;
  traceparent: boolean;
  duplicate?: 'replayed' | 'in-flight' | 'mismatch';
}

/**
 * The reference exchange runtime's direct requests: every released (and, in the sandbox
 * environment, approved) contract version is served at /exchange/{partner}/{api}/v{major}/…,
 * the newest version of each major line, with routes, validation and idempotency taken from
 * the contract and the control matrix. Returns the function that answers one request.
 */
export function directRequests(deps: Deps, runtime: Runtime): (request: DirectRequest) => Promise<DirectResult> {
  const { routes, sla, stats } = runtime;
  const store = new IdempotencyStore(deps);

  return async function serveDirectRequest(request) {
    const seen: { value?: Seen } = {};
    let result: DirectResult | undefined;
    try {
      result = await serve(request, seen);
      return result;
    } finally {
      // Per-partner counters for scorecards: every answered request of a served line (a throw answers 500).
      if (seen.value) countForScorecard(seen.value, result?.status ?? 500);
    }
  };

  function countForScorecard(seen: Seen, status: number): void {
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

  /** One direct request, from its route to the answer. */
  async function serve(request: DirectRequest, seenBy: { value?: Seen }): Promise<DirectResult> {
    const requestStart = performance.now();
    const { givenCorrelation, correlationId, trace, spanId, tracestate } = request.hop;
    const { partner, api, major, principal } = request;
    const headers: Record<string, string> = {};
    /** The operation the request reached (its operationId, else its path template), once it reached one. */
    let operation: string | undefined;
    /** A refusal in the contract's dialect: the media type the contract documents for that status; undocumented statuses follow the operation's media. */
    const refuse = (route: Route | undefined, status: number, code: string, detail: string, errors: FieldError[] = []): DirectRefusal => ({ kind: 'refusal', operation, status, code, detail, errors, fhir: route ? documentedMedia(route, status, route.fhir) : false, headers });
    const answer = (status: number, answerHeaders: Record<string, string>, body: string | null): DirectAnswer => ({ kind: 'answer', operation, status, headers: { ...headers, ...answerHeaders }, body });

    const prefix = `/exchange/${partner}/${api}/${major}`;
    const decoded = safeDecode(decodeURI, request.path.slice(prefix.length));
    const rest = decoded === '' ? '/' : decoded;
    if (rest === undefined) return refuse(undefined, 400, 'invalid', 'The path has a malformed percent-encoding', [{ location: 'path', message: 'malformed percent-encoding' }]);
    const candidates = await routes.line(`${partner}/${api}/${major}`);
    if (candidates.length === 0) return refuse(undefined, 404, 'not-found', `No released contract serves ${prefix}`);
    const matching = candidates.map((r) => ({ r, m: r.pattern.exec(rest) })).filter((x) => x.m);
    if (matching.length === 0) return refuse(undefined, 404, 'not-found', `${partner}/${api} ${major} has no path ${rest}`);
    // HEAD is served wherever GET is (RFC 9110 §9.3.2); the adapter sends no body.
    const method = request.method === 'HEAD' ? 'GET' : request.method;
    const hit = matching.find((x) => x.r.method === method);
    if (!hit) {
      const allowed = new Set(matching.map((x) => x.r.method));
      if (allowed.has('GET')) allowed.add('HEAD');
      headers.Allow = [...allowed].join(', ');
      return refuse(matching[0]!.r, 405, 'not-supported', `${request.method} is not allowed on ${rest}`);
    }
    const route = hit.r;
    operation = route.op.operationId ?? route.template;
    const seen: Seen = { partner, correlation: givenCorrelation !== undefined, traceparent: trace.valid };
    seenBy.value = seen;
    const retryAfter = route.flowEntry ? sla.throttled(route.flowEntry.flow, partner) : undefined;
    if (retryAfter !== undefined) {
      headers['Retry-After'] = String(retryAfter);
      return refuse(route, 429, 'throttled', `${route.flowEntry!.flow} at ${partner} is throttled by an SLA intervention (GET /v1/sla); retry after ${retryAfter} s`);
    }

    // Deprecated versions say so (RFC 9745 / 8594); after the sunset they are gone.
    const deprecation = route.deprecation;
    if (pastSunset(route, deps.clock())) return refuse(route, 410, 'not-found', `${partner}/${api} ${route.version} reached its sunset${deprecation ? ` on ${deprecation.sunset.slice(0, 10)}` : ''}`);
    if (deprecation) {
      headers.Deprecation = `@${Math.floor(new Date(deprecation.deprecatedAt).getTime() / 1000)}`;
      headers.Sunset = new Date(deprecation.sunset).toUTCString();
      // Both point at what the partner should read: the release notes, and the notices feed that announced the window.
      const links = [`<${absoluteUrl(deps.config, `/v1/contracts/${partner}/${api}/versions/${route.version}/release-notes`)}>; rel="deprecation"`, `<${absoluteUrl(deps.config, '/v1/notices')}>; rel="sunset"`];
      if (deprecation.successor) links.push(`<${absoluteUrl(deps.config, `/exchange/${partner}/${api}/v${semver.major(deprecation.successor)}`)}>; rel="successor-version"`);
      headers.Link = links.join(', ');
    }

    // Validate parameters and body against the contract's own schemas.
    // Parameter names are the contract author's: a `{constructor}` or `{__proto__}` is a name like any other.
    const pathValues = emptyDictionary<string>();
    for (const [i, p] of route.params.entries()) {
      const value = safeDecode(decodeURIComponent, hit.m![i + 1]!);
      if (value === undefined) return refuse(route, 400, 'invalid', `Path parameter ${p} has a malformed percent-encoding`, [{ location: `path.${p}`, message: 'malformed percent-encoding' }]);
      pathValues[p] = value;
    }
    const errors: FieldError[] = parameterErrors(route, (where, name) => (where === 'path' ? pathValues[name] : where === 'query' ? request.query(name) : where === 'header' ? request.header(name) : undefined));
    let body: unknown;
    let rawBody = '';
    const content = route.op.operation.requestBody?.content as Json | undefined;
    if (content) {
      const type = (request.header('content-type') ?? '').split(';')[0]!.trim().toLowerCase();
      const media = Object.keys(content).find((m) => m.toLowerCase() === type);
      rawBody = await request.text();
      if (!media) {
        if (route.op.operation.requestBody?.required || rawBody) return refuse(route, 415, 'not-supported', `Send ${Object.keys(content).join(' or ')}`);
      } else {
        // Measured before parsing and validation: validating (and storing) deeper data would exhaust the stack.
        if (jsonTextDeeperThan(rawBody, MAX_DEPTH)) return refuse(route, 400, 'invalid', `The body is nested deeper than ${MAX_DEPTH} levels`, [{ location: 'body', message: `at most ${MAX_DEPTH} levels of nesting` }]);
        try {
          body = JSON.parse(rawBody);
        } catch {
          return refuse(route, 400, 'invalid', 'The body is not valid JSON', [{ location: 'body', message: 'not JSON' }]);
        }
        // Every problem of a small body; the first of a large one (listing them all costs too much).
        for (const e of bodyErrors(route, media, body, { detailed: rawBody.length <= DETAILED_BODY_BYTES })) errors.push(e);
      }
    }
    if (errors.length > 0) return refuse(route, 400, 'invalid', `The request does not match ${partner}/${api} ${route.version}`, errors);

    // Idempotency per the flow's control-matrix entry (IETF Idempotency-Key semantics).
    const idem = route.idempotencyFlowEntry?.idempotency;
    const key = idem?.keySource.header ? request.header('idempotency-key') : undefined;
    if (idem?.keySource.header && !key) return refuse(route, 400, 'required', 'This operation needs an Idempotency-Key header', [{ location: 'header.Idempotency-Key', message: 'is required' }]);
    const scope = `${principal.tokenId}|${partner}/${api}/${major} ${route.method} ${route.template}`;
    // The path's parameters are part of the request: the same key for another group or exchange is a different request (422).
    const fingerprint = idem && key ? createHash('sha256').update(`${route.params.length > 0 ? `${JSON.stringify(pathValues)}\n` : ''}${idem.fingerprint.body ? rawBody : JSON.stringify(idem.fingerprint.pointers!.map((p) => valueAt(body, p)))}`).digest('hex') : '';

    // Faults injected for this partner and step (sandbox): some answer before anything happens.
    const step = route.flowEntry?.steps[0];
    const fault = await takeFault(deps, { partner, flow: route.flowEntry?.flow, step: step?.id, operationId: route.op.operationId, transactionId: undefined });
    if (fault?.kind === 'timeout') {
      await sleep(step ? durationMs(step.timeout) * deps.config.sagaTimeScale : 0);
      return refuse(route, 504, 'timeout', `Injected fault: ${partner} did not answer within ${step?.timeout ?? 'the timeout'}`);
    }
    if (fault?.kind === 'error-status' || fault?.kind === 'validation-error') return refuse(route, fault.status ?? 503, fault.kind === 'validation-error' ? 'invalid' : 'transient', `Injected fault: ${partner} answered ${fault.status ?? 503}`);

    const call = { partner, operationId: route.op.operationId, params: pathValues, base: absoluteUrl(deps.config, prefix), caller: principal };
    const contentType = (result: HandlerResult): Record<string, string> => (result.body === null ? {} : { 'Content-Type': result.body.resourceType === undefined && result.status >= 400 ? 'application/problem+json' : route.fhir || result.status >= 400 ? 'application/fhir+json' : 'application/json' });
    // HEAD answers what GET would, without GET's effects (a poll counts): the work runs in a transaction that is rolled back.
    if (request.method === 'HEAD') {
      const peek = await peekReference(deps, { ...call, body: {}, now: deps.clock() });
      return answer(peek.status, { ...contentType(peek), ...peek.headers }, null);
    }
    // Claim, effect, stored response and transaction record commit in one database transaction
    // (grouped with concurrent requests, ADR 0006): they happen together or not at all, and the
    // answer leaves only after the commit.
    type Executed = { claim?: Claim; result?: HandlerResult; headers?: Record<string, string>; body?: string; record?: DirectRequestRecord; recorded?: RecordedDirectRequest };
    const execute = async (): Promise<Executed> =>
      await deps.db.unit(async (): Promise<Executed> => {
        if (idem && key) {
          const claim = await store.claim(scope, key, fingerprint, durationMs(idem.dedupeWindow), leaseMs(route.idempotencyFlowEntry!));
          if (claim.kind !== 'proceed') return { claim };
        }
        const started = deps.clock();
        const t0 = performance.now();
        const result = asDocumented(route, await handleReference(deps, { ...call, body: (body ?? {}) as Json, now: started }), request.path);
        const responseBody = result.body === null ? '' : JSON.stringify(result.body);
        const resultHeaders: Record<string, string> = { ...contentType(result), ...result.headers };
        if (idem && key) await store.complete(scope, key, { status: result.status, headers: resultHeaders, body: responseBody });
        if (!route.flowEntry || !step) return { result, headers: resultHeaders, body: responseBody };
        const record: DirectRequestRecord = { flowEntry: route.flowEntry, step, partner, api, version: route.version, operationId: route.op.operationId!, status: result.status, correlationId, idempotencyKey: key, traceId: trace.traceId, spanId, tracestate: trace.valid ? tracestate : undefined, principal, startedAt: started, latencyMs: performance.now() - t0, fault: fault?.kind, businessKey: businessKeyOf(route.flowEntry, body) };
        return { result, headers: resultHeaders, body: responseBody, record, recorded: await recordDirectRequest(deps, record) };
      });
    const count = (done: Executed) => done.record && countDirectRequest(deps.metrics, done.record, done.recorded!);
    const outcome = await execute();
    count(outcome);
    // The same request delivered twice: the second is a replay (or a second effect, if idempotency were missing).
    if (fault?.kind === 'duplicate-delivery') count(await execute());

    const claim = outcome.claim;
    if (claim && claim.kind !== 'proceed' && route.flowEntry) {
      const duplicate = claim.kind === 'replay' ? 'replayed' : claim.kind;
      seen.duplicate = duplicate;
      deps.metrics.duplicates.inc({ partner, flow: route.flowEntry.flow, outcome: duplicate });
    }
    if (claim?.kind === 'mismatch') return refuse(route, 422, 'conflict', 'This Idempotency-Key was used with a different request');
    if (claim?.kind === 'in-flight') return refuse(route, 409, 'conflict', 'A request with this Idempotency-Key is still being processed; retry later');
    if (claim?.kind === 'replay') {
      // How long a duplicate waited for its (stored) answer: the duplicateResolution SLA.
      if (route.flowEntry) sla.record(route.flowEntry.flow, partner, 'duplicateResolution', (performance.now() - requestStart) / 1000);
      if (idem!.replayPolicy === 'reject') return refuse(route, 409, 'duplicate', 'Duplicate request: this Idempotency-Key was already processed (replay policy: reject)');
      return answer(claim.status, { ...claim.headers, 'Idempotent-Replayed': 'true', 'X-Correlation-Id': correlationId }, claim.body === '' ? null : claim.body);
    }
    const { result, headers: resultHeaders, body: responseBody } = outcome as { result: HandlerResult; headers: Record<string, string>; body: string };
    // Answers are checked against the contract too: a mismatch is the schema-drift failure mode.
    const drift = responseErrors(route, result.status, result.body);
    if (drift.length > 0) {
      deps.metrics.schemaDrift.inc({ partner, operation: route.op.operationId ?? route.template });
      deps.logger.warn({ failureMode: 'schema-drift', correlationId, traceId: trace.traceId, partner, flow: route.flowEntry?.flow, step: step?.id, operationId: route.op.operationId, status: result.status, errors: drift.slice(0, 5) }, 'answer does not match the contract');
    }
    // A delayed answer: past the step's timeout it is a timeout (the effect is stored; a retry with the key gets it).
    const timeoutMs = step ? durationMs(step.timeout) * deps.config.sagaTimeScale : Number.POSITIVE_INFINITY;
    const late = fault?.kind === 'delayed-event' && (fault.delayMs ?? 0) > timeoutMs;
    if (fault?.kind === 'delayed-event') await sleep(Math.min(fault.delayMs ?? 0, timeoutMs));
    if (route.flowEntry && step) {
      // The caller waited this long for the answer: that is what the SLA measures. A direct request is acknowledged, and finished, when it is answered.
      const status = fault?.kind === 'partial-write' ? 500 : late ? 504 : result.status;
      const accepted = status >= 200 && status < 300;
      const seconds = (performance.now() - requestStart) / 1000;
      observeFlow(deps, sla, { flow: route.flowEntry.flow, partner, answer: { step: step.id, operationId: route.op.operationId, status, accepted }, acknowledgedAfter: seconds, ...(accepted ? { finalizedAfter: seconds } : {}), failed: !accepted, direct: true });
    }
    if (late) return refuse(route, 504, 'timeout', `Injected fault: ${partner}'s answer was delayed beyond the ${step!.timeout} timeout; the change may have been made: retry with the same Idempotency-Key`);
    // Partial write: the effect is stored, the caller sees a failure; a retry with the same key gets the stored answer.
    if (fault?.kind === 'partial-write') return refuse(route, 500, 'exception', `Injected fault: ${partner} wrote the change but failed to answer; retry with the same Idempotency-Key`);
    return answer(result.status, resultHeaders, result.body === null ? null : responseBody);
  }
}

/** The in-flight lease: the slowest step's timeout, so a crash frees the key soon after. */
function leaseMs(flowEntry: FlowEntry): number {
  return Math.max(...flowEntry.steps.map((s) => durationMs(s.timeout)), 1000);
}

/**
 * A refusal of the reference handlers in the dialect the contract documents for its status: an
 * OperationOutcome becomes problem+json where the contract says so (a $finalize 409 documents
 * problem+json; certification found it answered FHIR).
 */
function asDocumented(route: Route, result: HandlerResult, instance: string): HandlerResult {
  if (result.status < 400 || result.body?.resourceType !== 'OperationOutcome' || documentedMedia(route, result.status, true)) return result;
  const issue = (result.body.issue as Json[] | undefined)?.[0];
  const problem = new AccordError(errorCodeOf(result.status), String(issue?.diagnostics ?? 'Refused'), { errors: (issue?.expression as string[] | undefined)?.map((location) => ({ location, message: String(issue?.diagnostics) })) ?? [] }).toProblem({ instance });
  return { ...result, body: { ...problem, status: result.status } };
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
