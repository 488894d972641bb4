import { randomUUID } from 'node:crypto';
import { timeOrderedUuid } from './ids.ts';

/** The W3C trace a hop continues: the caller's trace id (or a new one), its flags, and whether the caller sent a valid one. */
export interface TraceContext {
  traceId: string;
  flags: string;
  valid: boolean;
}

/** The ids of one direct request (a request to /exchange): its correlation id and its span of the caller's trace. */
export interface ExchangeHop {
  /** The caller's X-Correlation-Id, when it sent a usable one. */
  givenCorrelation: string | undefined;
  correlationId: string;
  trace: TraceContext;
  spanId: string;
  tracestate: string | undefined;
}

/** A new W3C span id (16 hex digits). */
export function newSpanId(): string {
  return randomUUID().replace(/-/g, '').slice(0, 16);
}

/** W3C trace context of a hop: the caller's trace id (or a new one) and a new span id. */
export function traceContext(traceparent: string | undefined): TraceContext {
  // Version 00 exactly; a later version (not ff) may append fields, which are ignored (W3C Trace Context §3.2.4).
  const parent = /^00-([0-9a-f]{32})-([0-9a-f]{16})-([0-9a-f]{2})$/.exec(traceparent ?? '') ?? /^(?!ff|00)[0-9a-f]{2}-([0-9a-f]{32})-([0-9a-f]{16})-([0-9a-f]{2})(?:-.*)?$/.exec(traceparent ?? '');
  const valid = Boolean(parent && !/^0+$/.test(parent[1]!) && !/^0+$/.test(parent[2]!));
  return { traceId: valid ? parent![1]! : randomUUID().replace(/-/g, ''), flags: valid ? parent![3]! : '01', valid };
}

/** A correlation id as received, when it is safe to store and echo. */
export function validCorrelation(value: string | undefined): string | undefined {
  return value && /^[A-Za-z0-9._:-]{1,128}$/.test(value) ? value : undefined;
}

/** The hop of a direct request from what the caller sent: its correlation id (or a new one) and a new span of its trace (or of a new one). */
export function exchangeHopOf(sent: { correlationId: string | undefined; traceparent: string | undefined; tracestate: string | undefined }): ExchangeHop {
  const givenCorrelation = validCorrelation(sent.correlationId);
  return { givenCorrelation, correlationId: givenCorrelation ?? timeOrderedUuid(), trace: traceContext(sent.traceparent), spanId: newSpanId(), tracestate: sent.tracestate };
}

/** The headers that carry a hop on the answer: X-Correlation-Id, traceparent and (with a valid trace) the caller's tracestate. */
export function hopHeaders(hop: ExchangeHop): Record<string, string> {
  return {
    'X-Correlation-Id': hop.correlationId,
    traceparent: `00-${hop.trace.traceId}-${hop.spanId}-${hop.trace.flags}`,
    ...(hop.trace.valid && hop.tracestate ? { tracestate: hop.tracestate } : {}),
  };
}
