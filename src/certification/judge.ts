import { resolveLocal } from '../contracts/document.ts';
import { isObject, type Json } from '../lib/json.ts';
import { documentedResponse, responseErrors } from '../runtime/contract-check.ts';
import type { Route } from '../runtime/route-table.ts';

/**
 * How a certification judges one answer against the contract and the control matrix. Pure: a
 * list of findings (empty = conformant), each a sentence a partner's engineer can act on.
 */

/** An answer as the runner received it: header names lower-cased, the body as text. */
export interface Answer {
  status: number;
  headers: Record<string, string>;
  body: string;
}

function parsed(answer: Answer): { json: unknown; ok: boolean } {
  if (answer.body === '') return { json: null, ok: true };
  try {
    return { json: JSON.parse(answer.body), ok: true };
  } catch {
    return { json: undefined, ok: false };
  }
}

const mediaOf = (contentType: string | undefined) => (contentType ?? '').split(';')[0]!.trim().toLowerCase();

/**
 * The answer's conformance: its status documented (exactly, as a range or `default`), its media
 * type one documented for that status, its body valid against that response's schema, and every
 * header the response marks required present.
 */
export function conformanceFindings(route: Route, answer: Answer): string[] {
  const op = route.op.operationId ?? `${route.method} ${route.template}`;
  const documented = documentedResponse(route, answer.status);
  if (!documented) return [`${answer.status} is not a documented response of ${op} (documented: ${Object.keys(route.op.operation.responses ?? {}).join(', ')})`];
  const findings: string[] = [];
  const response = (documented.response ?? {}) as Json;
  const content = isObject(response.content) ? (response.content as Json) : undefined;
  const media = mediaOf(answer.headers['content-type']);
  if (answer.body !== '') {
    if (!content) findings.push(`${op} answered ${answer.status} with a body, but the contract documents none for it`);
    else if (!Object.keys(content).some((m) => mediaOf(m) === media || m === '*/*')) findings.push(`${op} answered ${answer.status} as ${media || 'no Content-Type'}; the contract documents ${Object.keys(content).join(', ')}`);
  }
  const body = parsed(answer);
  if (/json/.test(media) && !body.ok) findings.push(`${op} answered ${answer.status} with a body that is not JSON`);
  else if (body.ok && body.json !== null) for (const e of responseErrors(route, answer.status, body.json).slice(0, 5)) findings.push(`${op} answered ${answer.status}: ${e.location} ${e.message}`);
  const headers = isObject(response.headers) ? (response.headers as Json) : {};
  for (const [name, raw] of Object.entries(headers)) {
    const header = resolveLocal(route.schemas.document, raw) as Json | undefined;
    if (header?.required === true && answer.headers[name.toLowerCase()] === undefined) findings.push(`${op} answered ${answer.status} without the required ${name} header`);
  }
  return findings;
}

const TRACEPARENT = /^([0-9a-f]{2})-([0-9a-f]{32})-([0-9a-f]{16})-([0-9a-f]{2})$/;

/** Trace completeness of one answer: the correlation id echoed, and a traceparent continuing the trace that was sent. */
export function traceFindings(sent: { correlationId: string; traceId: string }, answer: Answer, wants: { correlation: boolean; traceparent: boolean }): string[] {
  const findings: string[] = [];
  const correlation = answer.headers['x-correlation-id'];
  if (wants.correlation && correlation !== sent.correlationId) findings.push(correlation === undefined ? 'the answer has no X-Correlation-Id: the correlation id sent was not echoed' : `X-Correlation-Id came back as ${correlation}, not the ${sent.correlationId} that was sent`);
  if (wants.traceparent) {
    const traceparent = answer.headers.traceparent;
    const m = TRACEPARENT.exec(traceparent ?? '');
    if (traceparent === undefined) findings.push('the answer has no traceparent: the trace sent is neither echoed nor continued');
    else if (!m) findings.push(`the answer's traceparent ${traceparent} is not W3C trace context`);
    else if (m[2] !== sent.traceId) findings.push(`the answer's traceparent belongs to trace ${m[2]}, not to the trace ${sent.traceId} that was sent`);
  }
  return findings;
}

/** Deprecation headers a deprecated version's answers carry: Deprecation, and Sunset when a sunset is announced. */
export function deprecationFindings(route: Route, answer: Answer): string[] {
  if (!route.deprecation) return [];
  const findings: string[] = [];
  if (answer.headers.deprecation === undefined) findings.push(`${route.version} is deprecated, but the answer has no Deprecation header`);
  if (route.deprecation.sunset && answer.headers.sunset === undefined) findings.push(`${route.version} is deprecated with a sunset of ${route.deprecation.sunset}, but the answer has no Sunset header`);
  return findings;
}

/** Whether two answers are the same answer: the same status and a byte-identical body, or the same Location / Content-Location. */
export function sameAnswer(a: Answer, b: Answer): boolean {
  if (a.status !== b.status) return false;
  const location = (x: Answer) => x.headers.location ?? x.headers['content-location'];
  return a.body === b.body || (location(a) !== undefined && location(a) === location(b));
}

/** How an answer is named in a finding: its status and the start of its body. */
export function describe(answer: Answer): string {
  const body = answer.body.length > 120 ? `${answer.body.slice(0, 120)}…` : answer.body;
  return `${answer.status}${body ? ` ${body}` : ''}`;
}
