import { createHash, randomBytes, randomUUID } from 'node:crypto';
import { Hono, type Context } from 'hono';
import semver from 'semver';
import { principalFromAuthorization } from '../auth/tokens.ts';
import type { Deps } from '../context.ts';
import { ContractSchemas } from '../contracts/schema.ts';
import { listOperations, type LocatedOperation } from '../contracts/operations.ts';
import { contractsGeneration, loadContractDocument } from '../contracts/versions.ts';
import { contractVersions } from '../db/index.ts';
import { AccordError, type FieldError } from '../errors.ts';
import type { FlowEntry } from '../matrix/checks.ts';
import { durationMs } from '../matrix/durations.ts';
import { currentFlows } from '../matrix/store.ts';
import { deprecationOf } from '../notices/notices.ts';
import type { AppEnv } from '../http/types.ts';
import { IdempotencyStore, type Claim } from './idempotency.ts';
import { escapeSegment as pointerSegment, valueAt, type Json } from '../lib/json.ts';
import { handleReference, type HandlerResult } from './handlers.ts';
import { inArray } from 'drizzle-orm';


/** One served operation of one contract version. */
interface Route {
  partner: string;
  api: string;
  major: number;
  version: string;
  method: string;
  template: string;
  pattern: RegExp;
  params: string[];
  op: LocatedOperation;
  schemas: ContractSchemas;
  fhir: boolean;
  flow: FlowEntry | undefined;
  deprecation: ReturnType<typeof deprecationOf>;
}

function escapeRegex(s: string): string {
  return s.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');
}

/** Compiles a path template (/Group/{id}/$davinci-data-export) to a matcher. */
function compileTemplate(template: string): { pattern: RegExp; params: string[] } {
  const params: string[] = [];
  const source = template
    .split(/(\{[^}]+\})/)
    .map((part) => {
      const m = /^\{([^}]+)\}$/.exec(part);
      if (m) {
        params.push(m[1]!);
        return '([^/]+)';
      }
      return escapeRegex(part);
    })
    .join('');
  return { pattern: new RegExp(`^${source}$`), params };
}

/**
 * The reference exchange runtime's router: every released (and, in the sandbox environment,
 * approved) contract version is served at /exchange/{partner}/{api}/v{major}/…, the newest
 * version of each major line, with routes, validation and idempotency taken from the contract
 * and the control matrix. The route table is rebuilt whenever contracts change.
 */
export function exchangeRouter(deps: Deps): Hono<AppEnv> {
  const app = new Hono<AppEnv>();
  const store = new IdempotencyStore(deps);
  let table: { generation: number; lines: Map<string, Route[]> } | undefined;
  let building: Promise<Route[]> | undefined;

  /** Routes of one `{partner}/{api}/v{major}` line, from a table rebuilt when contracts change. */
  async function routesOf(line: string): Promise<Route[]> {
    const generation = contractsGeneration();
    if (table?.generation !== generation) {
      building ??= build().finally(() => (building = undefined));
      const lines = new Map<string, Route[]>();
      for (const r of await building) {
        const key = `${r.partner}/${r.api}/v${r.major}`;
        lines.set(key, [...(lines.get(key) ?? []), r]);
      }
      table = { generation, lines };
    }
    return table.lines.get(line) ?? [];
  }

  async function build(): Promise<Route[]> {
    const states = deps.config.runtimeEnvironment === 'sandbox' ? ['released', 'deprecated', 'approved'] : ['released', 'deprecated'];
    const rows = deps.db.select().from(contractVersions).where(inArray(contractVersions.state, states)).all();
    const newest = new Map<string, (typeof rows)[number]>();
    for (const row of rows) {
      const key = `${row.partner}/${row.api}/${semver.major(row.version)}`;
      const current = newest.get(key);
      if (!current || semver.gt(row.version, current.version)) newest.set(key, row);
    }
    const flows = (await currentFlows(deps)).map((f) => f.entry);
    const out: Route[] = [];
    for (const row of newest.values()) {
      const doc = await loadContractDocument(deps, row);
      const schemas = new ContractSchemas(doc);
      for (const op of listOperations(doc)) {
        const media = Object.keys(op.operation.requestBody?.content ?? op.operation.responses?.['200']?.content ?? {});
        const flow = flows.find(
          (f) => (f.contract.partner === '*' || f.contract.partner === row.partner) && f.contract.api === row.api && semver.satisfies(row.version, f.contract.versions) && f.steps[0]?.operationId === op.operationId,
        );
        const deprecation = deprecationOf(deps, row.partner, row.api, row.version);
        out.push({ partner: row.partner, api: row.api, major: semver.major(row.version), version: row.version, method: op.method.toUpperCase(), template: op.path, ...compileTemplate(op.path), op, schemas, fhir: media.some((m) => m.includes('fhir')), flow, deprecation });
      }
    }
    return out;
  }

  /** A 4xx answer in the contract's dialect: FHIR OperationOutcome for FHIR operations, else problem+json. */
  function refuse(c: Context<AppEnv>, route: Route | undefined, status: number, code: string, detail: string, errors: FieldError[] = []): Response {
    if (route?.fhir) {
      const outcome = { resourceType: 'OperationOutcome', issue: (errors.length ? errors : [{ location: '', message: detail }]).map((e) => ({ severity: 'error', code, diagnostics: e.message, ...(e.location ? { expression: [e.location] } : {}) })) };
      return c.body(JSON.stringify(outcome), status as 400, { 'Content-Type': 'application/fhir+json' });
    }
    const problem = new AccordError(status === 409 ? 'conflict' : status === 422 ? 'invalid_document' : status === 404 ? 'not_found' : status === 410 ? 'not_found' : 'bad_request', detail, { errors }).toProblem({ instance: c.req.path, requestId: c.get('requestId') });
    return c.body(JSON.stringify({ ...problem, status }), status as 400, { 'Content-Type': 'application/problem+json' });
  }

  app.all('/:partner/:api/:major/*', async (c) => {
    const principal = principalFromAuthorization(deps, c.req.header('authorization'));
    const correlationId = validCorrelation(c.req.header('x-correlation-id')) ?? randomUUID();
    c.header('X-Correlation-Id', correlationId);
    // W3C trace context: keep the trace, start a new span for this hop.
    const parent = /^00-([0-9a-f]{32})-([0-9a-f]{16})-([0-9a-f]{2})$/.exec(c.req.header('traceparent') ?? '');
    const traceId = parent && !/^0+$/.test(parent[1]!) ? parent[1]! : randomBytes(16).toString('hex');
    c.header('traceparent', `00-${traceId}-${randomBytes(8).toString('hex')}-${parent?.[3] ?? '01'}`);
    const tracestate = c.req.header('tracestate');
    if (parent && tracestate) c.header('tracestate', tracestate);
    const { partner, api, major } = c.req.param();
    const prefix = `/exchange/${partner}/${api}/${major}`;
    const rest = decodeURI(c.req.path.slice(prefix.length)) || '/';
    const candidates = await routesOf(`${partner}/${api}/${major}`);
    if (candidates.length === 0) return refuse(c, undefined, 404, 'not-found', `No released contract serves ${prefix}`);
    const matching = candidates.map((r) => ({ r, m: r.pattern.exec(rest) })).filter((x) => x.m);
    if (matching.length === 0) return refuse(c, undefined, 404, 'not-found', `${partner}/${api} ${major} has no path ${rest}`);
    const hit = matching.find((x) => x.r.method === c.req.method);
    if (!hit) {
      c.header('Allow', [...new Set(matching.map((x) => x.r.method))].join(', '));
      return refuse(c, matching[0]!.r, 405, 'not-supported', `${c.req.method} is not allowed on ${rest}`);
    }
    const route = hit.r;

    // Deprecated versions say so (RFC 9745 / 8594); after the sunset they are gone.
    const deprecation = route.deprecation;
    if (deprecation) {
      const sunset = new Date(deprecation.sunset);
      if (sunset.getTime() <= deps.clock().getTime()) return refuse(c, route, 410, 'not-found', `${partner}/${api} ${route.version} reached its sunset on ${deprecation.sunset.slice(0, 10)}`);
      c.header('Deprecation', `@${Math.floor(new Date(deprecation.deprecatedAt).getTime() / 1000)}`);
      c.header('Sunset', sunset.toUTCString());
      const links = [`</v1/contracts/${partner}/${api}/versions/${route.version}/release-notes>; rel="deprecation"`];
      if (deprecation.successor) links.push(`</exchange/${partner}/${api}/v${semver.major(deprecation.successor)}>; rel="successor-version"`);
      c.header('Link', links.join(', '));
    }

    // Validate parameters and body against the contract's own schemas.
    const pathValues = Object.fromEntries(route.params.map((p, i) => [p, decodeURIComponent(hit.m![i + 1]!)]));
    const errors: FieldError[] = [];
    route.op.parameters.forEach((p) => {
      const raw = p.in === 'path' ? pathValues[p.name] : p.in === 'query' ? c.req.query(p.name) : p.in === 'header' ? c.req.header(p.name) : undefined;
      if (raw === undefined) {
        if (p.required) errors.push({ location: `${p.in}.${p.name}`, message: 'is required' });
        return;
      }
      const validate = p.schema && typeof p.schema === 'object' ? route.schemas.compileInline(p.schema) : undefined;
      if (validate && !validate(coerce(raw, p.schema))) errors.push(...(validate.errors ?? []).map((e) => ({ location: `${p.in}.${p.name}${e.instancePath}`, message: e.message ?? 'invalid' })));
    });
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
        try {
          body = JSON.parse(rawBody);
        } catch {
          return refuse(c, route, 400, 'invalid', 'The body is not valid JSON', [{ location: 'body', message: 'not JSON' }]);
        }
        const validate = route.schemas.validator(`/paths/${pointerSegment(route.template)}/${route.op.method}/requestBody/content/${pointerSegment(media)}/schema`);
        if (!validate(body)) errors.push(...(validate.errors ?? []).map((e) => ({ location: `body${e.instancePath}`, message: e.message ?? 'invalid' })));
      }
    }
    if (errors.length > 0) return refuse(c, route, 400, 'invalid', `The request does not match ${partner}/${api} ${route.version}`, errors);

    // Idempotency per the flow's control-matrix entry (IETF Idempotency-Key semantics).
    const idem = route.flow?.idempotency;
    const key = idem?.keySource.header ? c.req.header('idempotency-key') : undefined;
    if (idem?.keySource.header && !key) return refuse(c, route, 400, 'required', 'This operation needs an Idempotency-Key header', [{ location: 'header.Idempotency-Key', message: 'is required' }]);
    const scope = `${principal.tokenId}|${partner}/${api}/${major} ${route.method} ${route.template}`;
    const fingerprint = idem && key ? createHash('sha256').update(idem.fingerprint.body ? rawBody : JSON.stringify(idem.fingerprint.pointers!.map((p) => valueAt(body, p)))).digest('hex') : '';

    // Claim, effect and stored response commit in one SQLite transaction: the handler's writes and
    // the idempotency record happen together or not at all (a crash leaves neither).
    const outcome = deps.db.$client.transaction((): { claim?: Claim; result?: HandlerResult; headers?: Record<string, string>; body?: string } => {
      if (idem && key) {
        const claim = store.claim(scope, key, fingerprint, durationMs(idem.dedupeWindow), leaseMs(route.flow!));
        if (claim.kind !== 'proceed') return { claim };
      }
      const result = handleReference(deps, { partner, operationId: route.op.operationId, params: pathValues, body: (body ?? {}) as Json, base: prefix, now: deps.clock() });
      const responseBody = result.body === null ? '' : JSON.stringify(result.body);
      const headers: Record<string, string> = { ...(result.body === null ? {} : { 'Content-Type': route.fhir || result.status >= 400 ? 'application/fhir+json' : 'application/json' }), ...result.headers };
      if (idem && key) store.complete(scope, key, { status: result.status, headers, body: responseBody });
      return { result, headers, body: responseBody };
    })();

    const claim = outcome.claim;
    if (claim?.kind === 'mismatch') return refuse(c, route, 422, 'conflict', 'This Idempotency-Key was used with a different request');
    if (claim?.kind === 'in-flight') return refuse(c, route, 409, 'conflict', 'A request with this Idempotency-Key is still being processed; retry later');
    if (claim?.kind === 'replay') {
      if (idem!.replayPolicy === 'reject') return refuse(c, route, 409, 'duplicate', 'Duplicate request: this Idempotency-Key was already processed (replay policy: reject)');
      const replayHeaders = { ...claim.headers, 'Idempotent-Replayed': 'true', 'X-Correlation-Id': correlationId };
      return claim.body === '' ? c.body(null, claim.status as 202, replayHeaders) : c.body(claim.body, claim.status as 200, replayHeaders);
    }
    const { result, headers, body: responseBody } = outcome as { result: HandlerResult; headers: Record<string, string>; body: string };
    return result.body === null ? c.body(null, result.status as 202, headers) : c.body(responseBody, result.status as 200, headers);
  });

  return app;
}

/** The in-flight lease: the slowest step's timeout, so a crash frees the key soon after. */
function leaseMs(flow: FlowEntry): number {
  return Math.max(...flow.steps.map((s) => durationMs(s.timeout)), 1000);
}

function coerce(raw: string, schema: Json | undefined): unknown {
  const type = Array.isArray(schema?.type) ? schema!.type[0] : schema?.type;
  if ((type === 'integer' || type === 'number') && raw.trim() !== '' && !Number.isNaN(Number(raw))) return Number(raw);
  if (type === 'boolean' && (raw === 'true' || raw === 'false')) return raw === 'true';
  return raw;
}

function validCorrelation(value: string | undefined): string | undefined {
  return value && /^[A-Za-z0-9._:-]{1,128}$/.test(value) ? value : undefined;
}
