import { randomBytes } from 'node:crypto';
import { compileTemplate, type Route } from '../runtime/route-table.ts';
import { fillPath, requestBody, requiredParameters } from './inputs.ts';
import type { Answer } from './judge.ts';

/**
 * The calls of one certification run: how a request to the partner is built (its headers, a
 * fresh correlation id and trace for each), sent through the run's transport and recorded for
 * the report, and which resource ids the partner's answers revealed (a Location naming a
 * consent fills the `{consentId}` of later calls).
 */

/** One request to the partner, relative to its base URL. */
export interface OutboundCall {
  method: string;
  path: string;
  headers: Record<string, string>;
  body?: string;
  timeoutMs: number;
}

/** Sends a call to the partner (its base URL and credential added): an answer, or why there was none. */
export type Transport = (call: OutboundCall) => Promise<{ answer: Answer } | { error: string }>;

/** A request and its answer as the report shows them (credentials redacted, long bodies cut). */
export interface Exchange {
  request: { method: string; url: string; headers: Record<string, string>; body: string | null };
  response: { status: number; headers: Record<string, string>; body: string } | null;
  error?: string;
  durationMs: number;
}

/** What one sent request gave: the answer (undefined when none came), the ids sent, the report's record. */
export interface Sent {
  answer: Answer | undefined;
  correlationId: string;
  traceId: string;
  exchange: Exchange;
}

const MAX_REPORTED_BODY = 4096;
const REDACTED = new Set(['authorization', 'cookie', 'set-cookie', 'proxy-authorization']);

function reported(body: string): string {
  return body.length > MAX_REPORTED_BODY ? `${body.slice(0, MAX_REPORTED_BODY)}… (${body.length - MAX_REPORTED_BODY} more characters)` : body;
}

function redacted(headers: Record<string, string>): Record<string, string> {
  return Object.fromEntries(Object.entries(headers).map(([name, value]) => [name, REDACTED.has(name.toLowerCase()) ? '[redacted]' : value]));
}

export class Session {
  /** Path-parameter values the partner's answers named (by parameter name). */
  readonly known = new Map<string, string>();
  /** Every operation path up to each of its parameters (/Consent/{consentId} of /Consent/{consentId}/$revoke): what a Location may name. */
  private readonly resourcePatterns: Array<{ pattern: RegExp; params: string[] }>;
  private count = 0;

  constructor(
    private readonly transport: Transport,
    /** The partner's base URL, for the report. */
    private readonly base: string,
    routes: Route[],
    private readonly runId: string,
    /** Whether the transport adds an Authorization header (the report says so, redacted). */
    private readonly authenticated: boolean,
  ) {
    const prefixes = new Set<string>();
    for (const route of routes) {
      const segments = route.template.split('/');
      segments.forEach((segment, i) => {
        if (/^\{[^}]+\}$/.test(segment)) prefixes.add(segments.slice(0, i + 1).join('/'));
      });
    }
    this.resourcePatterns = [...prefixes].map(compileTemplate);
  }

  /** A fresh Idempotency-Key. */
  key(): string {
    return `cert-${this.runId.slice(4, 12)}-${randomBytes(6).toString('hex')}`;
  }

  /**
   * Sends `body` (the example when left out; `null` for none) to the route's operation, with a
   * fresh correlation id and trace, the key when given, and the required parameters.
   */
  async send(route: Route, options: { body?: unknown; key?: string; timeoutMs: number }): Promise<Sent> {
    const media = requestBody(route);
    const body = options.body === undefined ? this.withKnownIds(media?.example) : options.body;
    // A path parameter named like a member of the body takes its value (POST /exchanges/{exchangeId}/$finalize {"exchangeId": …}).
    const known = new Map(this.known);
    if (body !== null && typeof body === 'object' && !Array.isArray(body)) for (const name of route.params) if (!known.has(name) && typeof (body as Record<string, unknown>)[name] === 'string') known.set(name, (body as Record<string, string>)[name]!);
    const path = fillPath(route, known);
    const { query, headers: required } = requiredParameters(route, known);
    const search = new URLSearchParams(query).toString();
    const correlationId = `${this.runId}-${++this.count}`;
    const traceId = randomBytes(16).toString('hex');
    const headers: Record<string, string> = {
      Accept: 'application/json, application/fhir+json, application/problem+json',
      'X-Correlation-Id': correlationId,
      traceparent: `00-${traceId}-${randomBytes(8).toString('hex')}-01`,
      ...required,
      ...(options.key ? { 'Idempotency-Key': options.key } : {}),
      ...(body !== undefined && body !== null && media ? { 'Content-Type': media.media } : {}),
    };
    const text = body === undefined || body === null || !media ? undefined : JSON.stringify(body);
    const call: OutboundCall = { method: route.method, path: `${path ?? route.template}${search ? `?${search}` : ''}`, headers, body: text, timeoutMs: options.timeoutMs };
    const started = performance.now();
    // A path parameter with no value its schema accepts: the request is not sent.
    const result = path === undefined ? { error: `not sent: no value for a path parameter of ${route.template} that its schema accepts` } : await this.transport(call);
    const durationMs = Math.round(performance.now() - started);
    const request = { method: call.method, url: `${this.base}${call.path}`, headers: redacted({ ...headers, ...(this.authenticated ? { Authorization: 'Bearer' } : {}) }), body: text === undefined ? null : reported(text) };
    if ('error' in result) return { answer: undefined, correlationId, traceId, exchange: { request, response: null, error: result.error, durationMs } };
    this.learn(result.answer);
    const response = { status: result.answer.status, headers: redacted(result.answer.headers), body: reported(result.answer.body) };
    return { answer: result.answer, correlationId, traceId, exchange: { request, response, durationMs } };
  }

  /**
   * The example with the ids the partner gave earlier: a top-level member named like a known
   * parameter, or ending with its name (`exportJobId` takes a known `jobId`), gets its value, so
   * an acknowledgement names the export job this run created rather than the example's.
   */
  private withKnownIds(example: unknown): unknown {
    if (example === null || typeof example !== 'object' || Array.isArray(example) || this.known.size === 0) return example;
    const out = { ...(example as Record<string, unknown>) };
    for (const [member, value] of Object.entries(out)) {
      if (typeof value !== 'string') continue;
      // `…JobId` takes a known `jobId`; a bare `id` names nothing in particular and is matched exactly only.
      const name = [...this.known.keys()].find((k) => member === k || (k.length > 2 && member.endsWith(`${k[0]!.toUpperCase()}${k.slice(1)}`)));
      if (name) out[member] = this.known.get(name)!;
    }
    return out;
  }

  /** Remembers the path parameters of a resource an answer points to (Location / Content-Location). */
  private learn(answer: Answer): void {
    for (const header of ['location', 'content-location']) {
      const value = answer.headers[header];
      if (!value) continue;
      let path: string;
      try {
        path = new URL(value, 'http://partner.invalid').pathname;
      } catch {
        continue;
      }
      for (const { pattern, params } of this.resourcePatterns) {
        // The template may sit under the partner's base path: try each suffix of the path.
        for (let at = path.indexOf('/'); at !== -1; at = path.indexOf('/', at + 1)) {
          const m = pattern.exec(path.slice(at));
          if (!m) continue;
          params.forEach((name, i) => this.known.set(name, decodeURIComponent(m[i + 1]!)));
          break;
        }
      }
    }
  }
}
