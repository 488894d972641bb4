import fs from 'node:fs';
import type { ValidateFunction } from 'ajv';
import { ACCORD_API_DOCUMENT } from '../src/http/api.ts';
import { newAjv2020 } from '../src/lib/ajv.ts';

/**
 * A Prism-style response-conformance check: every answer a test service gives to a request on a
 * path of Accord's own document (/openapi.json) is checked against it — the status is documented
 * (or the operation has a `default`), the media type is one the status documents, and a JSON
 * body is valid against its schema. test/harness.ts hands every answer here; the setup file
 * (test/conformance-setup.ts) fails the test that received a mismatch.
 */

interface MediaSpec {
  schema?: unknown;
}
interface ResponseSpec {
  content?: Record<string, MediaSpec>;
}
interface OperationSpec {
  operationId?: string;
  responses: Record<string, ResponseSpec>;
}

/** A documented path: its template, a matcher, and how specific it is (literal segments win over parameters). */
interface PathMatcher {
  template: string;
  pattern: RegExp;
  literals: number;
  operations: Record<string, OperationSpec>;
}

const DOCUMENT = ACCORD_API_DOCUMENT as unknown as { paths: Record<string, Record<string, OperationSpec>>; components?: { schemas?: Record<string, unknown> } };

const MATCHERS: PathMatcher[] = Object.entries(DOCUMENT.paths)
  .map(([template, operations]) => {
    const segments = template.split('/');
    const pattern = new RegExp(`^${segments.map((s) => (/^\{.+\}$/.test(s) ? '[^/]+' : s.replace(/[.*+?^${}()|[\]\\$]/g, '\\$&'))).join('/')}$`);
    return { template, pattern, literals: segments.filter((s) => !s.startsWith('{')).length, operations };
  })
  .sort((a, b) => b.literals - a.literals);

/** The component schemas, added once as one schema (`https://accord.test/openapi.json`) the response schemas refer into. */
const ajv = newAjv2020({ strict: false, allErrors: false, validateFormats: true }, true);
ajv.addKeyword({ keyword: 'example' });
ajv.addSchema({ $id: 'https://accord.test/openapi.json', $defs: JSON.parse(JSON.stringify(DOCUMENT.components?.schemas ?? {}).replaceAll('"#/components/schemas/', '"#/$defs/')) });
const validators = new Map<string, ValidateFunction>();

function validatorFor(key: string, schema: unknown): ValidateFunction {
  let validate = validators.get(key);
  if (!validate) {
    validate = ajv.compile(JSON.parse(JSON.stringify(schema).replaceAll('"#/components/schemas/', '"https://accord.test/openapi.json#/$defs/')) as object);
    validators.set(key, validate);
  }
  return validate;
}

/** One answer that contradicts the document. */
export interface Mismatch {
  request: string;
  operation: string;
  status: number;
  problem: string;
}

const mismatches: Mismatch[] = [];
const pending = new Set<Promise<void>>();
/** Where mismatches are also appended, one JSON line each (to survey a whole run). */
const LOG = process.env.ACCORD_CONFORMANCE_LOG;
/** Where conforming bodies are appended (a survey of real answers to draw the document's examples from). */
const SAMPLES = process.env.ACCORD_CONFORMANCE_SAMPLES;
const sampled = new Set<string>();

function sample(kind: 'request' | 'response', operation: string, status: number, mediaType: string, body: unknown): void {
  const key = `${kind} ${operation} ${status} ${mediaType}`;
  if (!SAMPLES || sampled.has(key)) return;
  sampled.add(key);
  fs.appendFileSync(SAMPLES, `${JSON.stringify({ kind, operation, status, mediaType, body })}\n`);
}

function isJson(mediaType: string): boolean {
  return mediaType === 'application/json' || mediaType.endsWith('+json');
}

/** Checks one answer (a clone is read, the caller keeps the original); the result is collected. */
export function checkResponse(method: string, url: string, response: Response, requestBody?: string): void {
  const { pathname } = new URL(url, 'http://accord.test');
  const matcher = MATCHERS.find((m) => m.pattern.test(pathname));
  if (!matcher) return; // not Accord's API: the console, the exchange (its partners' contracts)
  const verb = method.toLowerCase() === 'head' ? 'get' : method.toLowerCase();
  const operation = matcher.operations[verb];
  if (!operation) return; // a wrong method: 405 with Allow, checked by its own tests
  const request = `${method} ${pathname}`;
  const name = `${verb.toUpperCase()} ${matcher.template}`;
  const record = (problem: string) => {
    const mismatch = { request, operation: name, status: response.status, problem };
    mismatches.push(mismatch);
    if (LOG) fs.appendFileSync(LOG, `${JSON.stringify(mismatch)}\n`);
  };
  const documented = operation.responses[String(response.status)] ?? operation.responses.default;
  if (!documented) {
    record(`status ${response.status} is not documented (${Object.keys(operation.responses).join(', ')})`);
    return;
  }
  const mediaType = (response.headers.get('content-type') ?? '').split(';')[0]!.trim().toLowerCase();
  const content = documented.content ?? {};
  if (method.toUpperCase() === 'HEAD' || response.status === 204 || response.status === 304) {
    return;
  }
  if (!mediaType) {
    if (Object.keys(content).length > 0) record(`no Content-Type; documented: ${Object.keys(content).join(', ')}`);
    return;
  }
  const media = content[mediaType];
  if (!media) {
    record(`media type ${mediaType} is not documented for ${response.status} (${Object.keys(content).join(', ') || 'no body'})`);
    return;
  }
  if (!isJson(mediaType) || media.schema === undefined) return;
  const checked = response
    .clone()
    .text()
    .then((text) => {
      let body: unknown;
      try {
        body = JSON.parse(text);
      } catch {
        record(`body is not JSON: ${text.slice(0, 80)}`);
        return;
      }
      const validate = validatorFor(`${name} ${response.status} ${mediaType}`, media.schema);
      if (!validate(body)) {
        const error = validate.errors![0]!;
        record(`body ${error.instancePath || '/'} ${error.message}${error.params ? ` ${JSON.stringify(error.params)}` : ''}`);
      } else if (response.status < 300) {
        sample('response', name, response.status, mediaType, body);
        if (requestBody) {
          try {
            sample('request', name, response.status, 'application/json', JSON.parse(requestBody));
          } catch {
            // not a JSON request body
          }
        }
      }
    })
    .finally(() => pending.delete(checked));
  pending.add(checked);
}

/** The mismatches found since the last call (after every pending body is read). */
export async function takeMismatches(): Promise<Mismatch[]> {
  while (pending.size > 0) await Promise.all([...pending]);
  return mismatches.splice(0);
}

/** Wraps a fetch handler so that every answer it gives is checked. */
export function checking<A extends unknown[]>(fetch: (request: Request, ...rest: A) => Response | Promise<Response>): (request: Request, ...rest: A) => Promise<Response> {
  return async (request, ...rest) => {
    const body = SAMPLES && request.body ? await request.clone().text() : undefined;
    const response = await fetch(request, ...rest);
    checkResponse(request.method, request.url, response, body);
    return response;
  };
}
