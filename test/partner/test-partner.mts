/**
 * A test partner for partner-certification tests (issue 20): a small Hono app in its own
 * process, NOT Accord, serving every operation of one contract at its OpenAPI path relative to
 * `/`. The `correct` variant behaves as Accord's own exchange (src/runtime/direct-requests/serve.ts)
 * does for the same contract: parameters and bodies checked against the contract, IETF
 * Idempotency-Key semantics (in memory), answers from Accord's reference handlers on an
 * in-memory SQLite database with Accord's migrations, X-Correlation-Id and traceparent on every
 * answer. The fault variants break one thing each.
 *
 *   node --import tsx test/partner/test-partner.mts --contract <openapi.yaml> [--partner northwind-health]
 *     [--variant correct|ignores-idempotency-key|undocumented-status|drops-traceparent|violates-response-schema]
 *     [--bearer <token>] [--public-key <PEM SPKI> --client-id <id>] [--deprecated-sunset <ISO date>] [--latency-ms <n>]
 *
 * Prints `{"port":N}` on one line once it listens on 127.0.0.1; exits on SIGTERM.
 */
import { createHash, createPublicKey, randomBytes, randomUUID } from 'node:crypto';
import fs from 'node:fs';
import type { Server } from 'node:http';
import { parseArgs } from 'node:util';
import { serve } from '@hono/node-server';
import { Hono, type Context } from 'hono';
import { jwtVerify } from 'jose';
import semver from 'semver';
import { listOperations } from '../../src/contracts/operations.ts';
import type { OpenApiDocument } from '../../src/contracts/document.ts';
import { contractSchemasOf } from '../../src/contracts/schema.ts';
import { openDb } from '../../src/db/client.ts';
import type { FieldError } from '../../src/errors.ts';
import { emptyDictionary, jsonTextDeeperThan, type Json } from '../../src/lib/json.ts';
import { MAX_DEPTH, parseYaml } from '../../src/lib/yaml.ts';
import { bodyErrors, documentedResponse, parameterErrors } from '../../src/runtime/contract-check.ts';
import { handleReference, peekReference, type Caller, type HandlerResult } from '../../src/runtime/handlers.ts';
import { compileTemplate, type Route } from '../../src/runtime/route-table.ts';
import { exchangeHopOf, hopHeaders } from '../../src/runtime/trace-context.ts';

export const VARIANTS = ['correct', 'ignores-idempotency-key', 'undocumented-status', 'drops-traceparent', 'violates-response-schema'] as const;
export type Variant = (typeof VARIANTS)[number];

const { values: argv } = parseArgs({
  options: {
    contract: { type: 'string' },
    partner: { type: 'string', default: 'northwind-health' },
    variant: { type: 'string', default: 'correct' },
    bearer: { type: 'string' },
    'public-key': { type: 'string' },
    'client-id': { type: 'string' },
    'deprecated-sunset': { type: 'string' },
    'latency-ms': { type: 'string', default: '0' },
    'token-seconds': { type: 'string', default: '300' },
  },
  strict: true,
});

function fail(message: string): never {
  process.stderr.write(`test-partner: ${message}\n`);
  process.exit(2);
}

if (!argv.contract) fail('--contract <path to openapi yaml> is required');
if (!(VARIANTS as readonly string[]).includes(argv.variant!)) fail(`--variant must be one of ${VARIANTS.join(', ')}`);
if (Boolean(argv['public-key']) !== Boolean(argv['client-id'])) fail('--public-key and --client-id go together');
const variant = argv.variant as Variant;
const partner = argv.partner!;
const latencyMs = Number(argv['latency-ms']);
if (!Number.isFinite(latencyMs) || latencyMs < 0) fail('--latency-ms must be a number ≥ 0');
const sunset = argv['deprecated-sunset'] === undefined ? undefined : new Date(argv['deprecated-sunset']);
if (sunset && Number.isNaN(sunset.getTime())) fail('--deprecated-sunset must be an ISO date');
const publicKey = argv['public-key'] ? createPublicKey(fs.readFileSync(argv['public-key'], 'utf8')) : undefined;
const startedAt = new Date();

// The contract's operations as Accord's runtime routes them (cf. versionRoutes in src/runtime/route-table.ts).
const yaml = fs.readFileSync(argv.contract, 'utf8');
const doc = parseYaml(yaml, { maxAliases: 100 }) as OpenApiDocument;
/** Operations whose control-matrix flow (the repository's control-matrix/) rejects replays, for this contract's version. */
const REJECTS_REPLAYS = new Set(
  fs
    .readdirSync(new URL('../../control-matrix/', import.meta.url))
    .filter((f) => f.endsWith('.yaml'))
    .map((f) => parseYaml(fs.readFileSync(new URL(`../../control-matrix/${f}`, import.meta.url), 'utf8'), { maxAliases: 100 }) as Json)
    .filter((flow) => flow.idempotency?.replayPolicy === 'reject' && semver.satisfies(String(doc.info?.version ?? '0.0.0'), String(flow.contract?.versions ?? '*')))
    .flatMap((flow) => (flow.steps as Json[]).map((step) => String(step.operationId))),
);
const schemas = contractSchemasOf({ cacheMaxBytes: 64 * 1024 * 1024 }, createHash('sha256').update(yaml).digest('hex'), Buffer.byteLength(yaml), doc);
const version = String(doc.info?.version ?? '0.0.0');
const routes: Route[] = listOperations(doc).map((op) => {
  const media = Object.keys(op.operation.requestBody?.content ?? op.operation.responses?.['200']?.content ?? {});
  return { partner, api: 'test-partner', major: semver.valid(version) ? semver.major(version) : 0, version, method: op.method.toUpperCase(), template: op.path, ...compileTemplate(op.path), op, schemas, fhir: media.some((m) => m.includes('fhir')), flowEntry: undefined, idempotencyFlowEntry: undefined, deprecation: undefined, retired: false };
});

// Accord's real schema, migrated; the reference handlers keep their records in it.
const deps = { db: openDb(':memory:') };
const caller: Caller = { partner: null, tokenId: 'test-partner' };
let base = '';

/** Issued access tokens and when they expire (ms). */
const issued = new Map<string, number>();

/** The idempotency store, in memory: by scope (caller and route) and key. */
type Stored = { fingerprint: string; response?: { status: number; headers: Record<string, string>; body: string } };
const keys = new Map<string, Stored>();

type Refusal = { status: number; code: string; detail: string; errors?: FieldError[]; headers?: Record<string, string> };

/** A refusal in the contract's dialect, as src/http/exchange/refusal.ts renders it: OperationOutcome or problem+json. */
function refuse(c: Context, route: Route | undefined, r: Refusal): Response {
  const errors = r.errors ?? [];
  if (route ? documentedMedia(route, r.status) : false) {
    const outcome = { resourceType: 'OperationOutcome', issue: (errors.length ? errors : [{ location: '', message: r.detail }]).map((e) => ({ severity: 'error', code: r.code, diagnostics: e.message, ...(e.location ? { expression: [e.location] } : {}) })) };
    return c.body(JSON.stringify(outcome), r.status as 400, { ...r.headers, 'Content-Type': 'application/fhir+json' });
  }
  const problem = { type: 'about:blank', title: r.code, status: r.status, detail: r.detail, ...(errors.length ? { errors } : {}) };
  return c.body(JSON.stringify(problem), r.status as 400, { ...r.headers, 'Content-Type': 'application/problem+json' });
}

/** Whether the contract answers `status` as FHIR; the operation's media when it documents no body for it. */
function documentedMedia(route: Route, status: number): boolean {
  const media = Object.keys((documentedResponse(route, status)?.response?.content as Json | undefined) ?? {});
  return media.length === 0 ? route.fhir : media.some((m) => m.includes('fhir'));
}

function safeDecode(decode: (text: string) => string, text: string): string | undefined {
  try {
    return decode(text);
  } catch {
    return undefined;
  }
}

const sleep = (ms: number) => (ms > 0 ? new Promise<void>((resolve) => setTimeout(resolve, ms)) : Promise.resolve());

/** The fault variants' changes to an answer. */
function applyVariant(operationId: string | undefined, result: HandlerResult): HandlerResult {
  if (operationId !== 'memberMatch' || result.status !== 200) return result;
  if (variant === 'undocumented-status') return { ...result, status: 203 };
  if (variant === 'violates-response-schema') return { ...result, body: { ...result.body, parameter: 'MemberIdentifier NWH-100234' } };
  return result;
}

const app = new Hono();

// Every answer carries the hop (X-Correlation-Id and the continued trace), as on Accord's exchange.
app.use('*', async (c, next) => {
  const hop = exchangeHopOf({ correlationId: c.req.header('x-correlation-id'), traceparent: c.req.header('traceparent'), tracestate: c.req.header('tracestate') });
  for (const [name, value] of Object.entries(hopHeaders(hop))) {
    if (variant === 'drops-traceparent' && (name === 'traceparent' || name === 'tracestate')) continue;
    c.header(name, value);
  }
  await next();
});

// OAuth2 client credentials with a private_key_jwt client assertion (RFC 7523), when --public-key is given.
app.post('/token', async (c) => {
  if (!publicKey) return c.json({ error: 'invalid_request', error_description: 'this partner issues no tokens' }, 404);
  const invalid = () => c.json({ error: 'invalid_client' }, 401);
  const form = await c.req.parseBody().catch(() => undefined);
  const assertion = form?.client_assertion;
  if (form?.grant_type !== 'client_credentials' || form.client_assertion_type !== 'urn:ietf:params:oauth:client-assertion-type:jwt-bearer' || typeof assertion !== 'string') return invalid();
  if (form.client_id !== undefined && form.client_id !== argv['client-id']) return invalid();
  try {
    await jwtVerify(assertion, publicKey, { issuer: argv['client-id'], subject: argv['client-id'], audience: `${base}/token`, algorithms: ['RS384', 'ES384'], requiredClaims: ['exp'] });
  } catch {
    return invalid();
  }
  const token = randomBytes(32).toString('base64url');
  const seconds = Number(argv['token-seconds']);
  issued.set(token, Date.now() + seconds * 1000);
  return c.json({ access_token: token, token_type: 'Bearer', expires_in: seconds }, 200, { 'Cache-Control': 'no-store' });
});

app.all('*', async (c) => {
  const headers: Record<string, string> = {};
  if (sunset) {
    // RFC 9745 / RFC 8594, in the format of Accord's exchange: deprecated since this process started.
    headers.Deprecation = `@${Math.floor(startedAt.getTime() / 1000)}`;
    headers.Sunset = sunset.toUTCString();
  }
  for (const [name, value] of Object.entries(headers)) c.header(name, value);

  // Authentication first, before the route: an unknown path without a token is a 401 too.
  const presented = /^Bearer\s+(\S+)$/i.exec(c.req.header('authorization') ?? '')?.[1];
  if (argv.bearer !== undefined || publicKey) {
    const expires = presented === undefined ? undefined : issued.get(presented);
    const ok = presented !== undefined && (presented === argv.bearer || (expires !== undefined && expires > Date.now()));
    if (!ok) return refuse(c, undefined, { status: 401, code: 'login', detail: 'Send Authorization: Bearer <token>', headers: { 'WWW-Authenticate': 'Bearer' } });
  }

  const rest = safeDecode(decodeURI, new URL(c.req.url).pathname);
  if (rest === undefined) return refuse(c, undefined, { status: 400, code: 'invalid', detail: 'The path has a malformed percent-encoding', errors: [{ location: 'path', message: 'malformed percent-encoding' }] });
  const matching = routes.map((r) => ({ r, m: r.pattern.exec(rest) })).filter((x) => x.m);
  if (matching.length === 0) return refuse(c, undefined, { status: 404, code: 'not-found', detail: `No path ${rest}` });
  const method = c.req.method === 'HEAD' ? 'GET' : c.req.method;
  const hit = matching.find((x) => x.r.method === method);
  if (!hit) {
    const allowed = new Set(matching.map((x) => x.r.method));
    if (allowed.has('GET')) allowed.add('HEAD');
    return refuse(c, matching[0]!.r, { status: 405, code: 'not-supported', detail: `${c.req.method} is not allowed on ${rest}`, headers: { Allow: [...allowed].join(', ') } });
  }
  const route = hit.r;

  const pathValues = emptyDictionary<string>();
  for (const [i, p] of route.params.entries()) {
    const value = safeDecode(decodeURIComponent, hit.m![i + 1]!);
    if (value === undefined) return refuse(c, route, { status: 400, code: 'invalid', detail: `Path parameter ${p} has a malformed percent-encoding`, errors: [{ location: `path.${p}`, message: 'malformed percent-encoding' }] });
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
      if (route.op.operation.requestBody?.required || rawBody) return refuse(c, route, { status: 415, code: 'not-supported', detail: `Send ${Object.keys(content).join(' or ')}` });
    } else {
      if (jsonTextDeeperThan(rawBody, MAX_DEPTH)) return refuse(c, route, { status: 400, code: 'invalid', detail: `The body is nested deeper than ${MAX_DEPTH} levels`, errors: [{ location: 'body', message: `at most ${MAX_DEPTH} levels of nesting` }] });
      try {
        body = JSON.parse(rawBody);
      } catch {
        return refuse(c, route, { status: 400, code: 'invalid', detail: 'The body is not valid JSON', errors: [{ location: 'body', message: 'not JSON' }] });
      }
      errors.push(...bodyErrors(route, media, body));
    }
  }
  if (errors.length > 0) return refuse(c, route, { status: 400, code: 'invalid', detail: `The request does not match ${route.template} of ${version}`, errors });

  const call = { partner, operationId: route.op.operationId, params: pathValues, base, caller };
  const contentType = (result: HandlerResult): Record<string, string> => (result.body === null ? {} : { 'Content-Type': route.fhir || result.status >= 400 ? 'application/fhir+json' : 'application/json' });
  if (c.req.method === 'HEAD') {
    const peek = await peekReference(deps, { ...call, body: {}, now: new Date() });
    return c.body(null, peek.status as 200, { ...contentType(peek), ...peek.headers });
  }

  // Idempotency-Key (IETF httpapi) wherever the contract documents the header on an unsafe operation.
  const keyParam = route.op.parameters.find((p) => p.in === 'header' && String(p.name).toLowerCase() === 'idempotency-key');
  const idempotent = variant !== 'ignores-idempotency-key' && keyParam !== undefined && method !== 'GET';
  const key = idempotent ? c.req.header('idempotency-key') : undefined;
  if (idempotent && !key && keyParam.required) return refuse(c, route, { status: 400, code: 'required', detail: 'This operation needs an Idempotency-Key header', errors: [{ location: 'header.Idempotency-Key', message: 'is required' }] });
  // Keys belong to the client: its OAuth2 client id (its access tokens come and go), else its bearer token.
  const client = presented !== undefined && issued.has(presented) ? `client:${argv['client-id']}` : (presented ?? '');
  const scope = `${client}|${route.method} ${route.template}|${key ?? ''}`;
  const fingerprint = createHash('sha256').update(`${route.params.length > 0 ? `${JSON.stringify(pathValues)}\n` : ''}${rawBody}`).digest('hex');
  if (key) {
    const stored = keys.get(scope);
    if (stored && stored.fingerprint !== fingerprint) return refuse(c, route, { status: 422, code: 'conflict', detail: 'This Idempotency-Key was used with a different request' });
    if (stored && !stored.response) return refuse(c, route, { status: 409, code: 'conflict', detail: 'A request with this Idempotency-Key is still being processed; retry later' });
    // The control matrix's replay policy: a flow that rejects duplicates answers 409 to a repeat.
    if (stored?.response && route.op.operationId && REJECTS_REPLAYS.has(route.op.operationId)) return refuse(c, route, { status: 409, code: 'duplicate', detail: 'Duplicate request: this Idempotency-Key was already processed (replay policy: reject)' });
    if (stored?.response) {
      const { status, headers: storedHeaders, body: storedBody } = stored.response;
      const replayHeaders = { ...storedHeaders, 'Idempotent-Replayed': 'true' };
      return storedBody === '' ? c.body(null, status as 202, replayHeaders) : c.body(storedBody, status as 200, replayHeaders);
    }
    keys.set(scope, { fingerprint });
  }

  let result: HandlerResult;
  try {
    await sleep(latencyMs);
    result = applyVariant(route.op.operationId, await handleReference(deps, { ...call, body: (body ?? {}) as Json, now: new Date() }));
  } catch (error) {
    // Nothing was answered: the key is free again.
    if (key) keys.delete(scope);
    throw error;
  }
  const responseBody = result.body === null ? '' : JSON.stringify(result.body);
  const resultHeaders = { ...contentType(result), ...result.headers };
  if (key) keys.set(scope, { fingerprint, response: { status: result.status, headers: resultHeaders, body: responseBody } });
  return result.body === null ? c.body(null, result.status as 202, resultHeaders) : c.body(responseBody, result.status as 200, resultHeaders);
});

app.onError((error, c) => {
  process.stderr.write(`test-partner: ${error instanceof Error ? (error.stack ?? error.message) : String(error)}\n`);
  return c.json({ type: 'about:blank', title: 'exception', status: 500, detail: 'The test partner failed', id: randomUUID() }, 500);
});

const server = serve({ fetch: app.fetch, hostname: '127.0.0.1', port: 0 }, (info) => {
  base = `http://127.0.0.1:${info.port}`;
  process.stdout.write(`${JSON.stringify({ port: info.port })}\n`);
}) as Server;

process.on('SIGTERM', () => {
  server.close(() => process.exit(0));
  server.closeAllConnections();
  setTimeout(() => process.exit(0), 2000).unref();
});
