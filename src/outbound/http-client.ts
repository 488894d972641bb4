import http from 'node:http';
import https from 'node:https';
import net, { type LookupFunction } from 'node:net';
import { checkDestination, type OutboundPolicy } from './address-policy.ts';
import type { ResolveHost } from './dns-resolver.ts';

/**
 * Why an outbound call got no HTTP answer, in words a remote party may read. Deliberately
 * coarse: telling "connection refused" from "timed out" would let a caller map ports.
 */
export const OUTBOUND_FAILURES = {
  'not-allowed': 'destination not allowed',
  unresolved: 'could not resolve host',
  'no-answer': 'no connection or no answer in time',
} as const;

export type OutboundFailure = keyof typeof OUTBOUND_FAILURES;

/** An HTTP answer (any status: redirects are never followed), or a failure class with the raw error for operators' logs. */
export type OutboundResult =
  | { outcome: 'response'; status: number; headers: Record<string, string>; body: Buffer; address: string }
  | { outcome: 'failed'; failure: OutboundFailure; error: string };

export interface OutboundRequest {
  url: string;
  method: string;
  headers: Record<string, string>;
  body?: string;
  /** Budget of the whole call: resolving, connecting, sending and reading the answer. */
  timeoutMs: number;
  /** Most bytes of the answer's body read (the rest is discarded with the connection). */
  maxResponseBytes?: number;
}

/**
 * Makes one outbound HTTP call under the address policy: the URL is checked, a host name is
 * resolved once and every address it resolves to must be allowed, and the connection goes to
 * the validated address (no second lookup a rebinding DNS server could answer differently).
 * The Host header and, for https, SNI and certificate checks keep the host name. Redirects are
 * returned, not followed. Never throws.
 */
export async function sendOutbound(policy: OutboundPolicy, request: OutboundRequest, options: { resolve?: ResolveHost } = {}): Promise<OutboundResult> {
  const startedAt = Date.now();
  const destination = await checkDestination(request.url, policy, { resolve: options.resolve, timeoutMs: request.timeoutMs });
  if (!destination.ok) {
    const raw = destination.error instanceof Error ? `${destination.reason}: ${destination.error.message}` : destination.reason;
    return { outcome: 'failed', failure: destination.failure, error: raw };
  }
  const remainingMs = request.timeoutMs - (Date.now() - startedAt);
  if (remainingMs <= 0) return { outcome: 'failed', failure: 'no-answer', error: 'time budget spent resolving the host' };
  return exchange(destination.url, destination.addresses[0]!.address, request, remainingMs);
}

function exchange(url: URL, address: string, request: OutboundRequest, timeoutMs: number): Promise<OutboundResult> {
  const family = net.isIP(address);
  // Node asks with `all: true` when it races address families (autoSelectFamily, on by default in Node 20).
  const lookup: LookupFunction = (_name, options, callback) => {
    if (options.all) callback(null, [{ address, family }]);
    else callback(null, address, family);
  };
  const maxBytes = request.maxResponseBytes ?? 4096;
  const body = request.body ?? '';
  return new Promise((resolve) => {
    let settled = false;
    let timer: NodeJS.Timeout | undefined;
    let req: http.ClientRequest | undefined;
    let response: { status: number; headers: Record<string, string>; chunks: Buffer[]; size: number } | undefined;
    const finish = (result: OutboundResult) => {
      if (settled) return;
      settled = true;
      clearTimeout(timer);
      req?.destroy();
      resolve(result);
    };
    const answered = () => finish({ outcome: 'response', status: response!.status, headers: response!.headers, body: Buffer.concat(response!.chunks), address });
    timer = setTimeout(() => (response ? answered() : finish({ outcome: 'failed', failure: 'no-answer', error: `no answer within the attempt's ${request.timeoutMs} ms` })), timeoutMs);
    const client = url.protocol === 'https:' ? https : http;
    try {
      req = client.request(url, { method: request.method, headers: { ...request.headers, 'Content-Length': String(Buffer.byteLength(body)) }, lookup, agent: false }, (res) => {
        response = { status: res.statusCode ?? 0, headers: headersOf(res.headers), chunks: [], size: 0 };
        res.on('data', (chunk: Buffer) => {
          const take = chunk.subarray(0, maxBytes - response!.size);
          response!.chunks.push(take);
          response!.size += take.length;
          if (response!.size >= maxBytes) answered();
        });
        res.on('end', answered);
        res.on('error', answered);
      });
    } catch (error) {
      finish({ outcome: 'failed', failure: 'no-answer', error: (error as Error).message });
      return;
    }
    req.on('error', (error) => finish({ outcome: 'failed', failure: 'no-answer', error: error.message }));
    req.end(body);
  });
}

/** An answer's headers, names lower-cased, repeated ones joined as HTTP allows (`, `). */
function headersOf(raw: http.IncomingHttpHeaders): Record<string, string> {
  const headers: Record<string, string> = {};
  for (const [name, value] of Object.entries(raw)) if (value !== undefined) headers[name] = Array.isArray(value) ? value.join(', ') : value;
  return headers;
}
