import type { FieldError } from '../errors.ts';
import type { ValidateFunction } from '../lib/ajv.ts';
import { escapeSegment, isObject, valueAt, type Json } from '../lib/json.ts';
import type { Route } from './route-table.ts';

function coerce(raw: string, schema: Json | undefined): unknown {
  const type = Array.isArray(schema?.type) ? schema!.type[0] : schema?.type;
  if ((type === 'integer' || type === 'number') && raw.trim() !== '' && !Number.isNaN(Number(raw))) return Number(raw);
  if (type === 'boolean' && (raw === 'true' || raw === 'false')) return raw === 'true';
  return raw;
}

/**
 * Compiles (once: the route's ContractSchemas caches it) and runs a validator that stops at the
 * first problem; `detailed`, if given, then lists every problem (the problem body lists at most
 * 100 and counts the rest). A value or schema that would exhaust the stack is reported as an
 * error at `location`, never thrown: the runtime answers a refusal, not a 500.
 */
function check(validator: () => ValidateFunction, value: unknown, location: string, detailed?: () => ValidateFunction): FieldError[] {
  try {
    let validate = validator();
    if (validate(value)) return [];
    // Every problem, when the caller can afford to look for them all.
    if (detailed) {
      validate = detailed();
      validate(value);
    }
    return (validate.errors ?? []).map((e) => ({ location: `${location}${e.instancePath}`, message: e.message ?? 'invalid' }));
  } catch (error) {
    if (error instanceof RangeError) return [{ location, message: 'is nested too deeply to be checked against the contract' }];
    throw error;
  }
}

/**
 * Checks parameter values (raw strings, as received) against the operation's parameters:
 * required ones present, each valid for its schema. Locations are `path.id`, `query.x`, …
 * @param value the raw value of a parameter, or undefined when absent
 */
export function parameterErrors(route: Route, value: (location: string, name: string) => string | undefined): FieldError[] {
  const errors: FieldError[] = [];
  for (const p of route.op.parameters) {
    const raw = value(p.in, p.name);
    if (raw === undefined) {
      if (p.required) errors.push({ location: `${p.in}.${p.name}`, message: 'is required' });
      continue;
    }
    if (p.schema && typeof p.schema === 'object') for (const e of check(() => route.schemas.compileInline(p.schema), coerce(raw, p.schema), `${p.in}.${p.name}`)) errors.push(e);
  }
  return errors;
}

/**
 * Checks a request body against the operation's schema for `media` (a key of requestBody.content).
 * @param options.detailed list every problem (else the first): for bodies small enough to afford it
 */
export function bodyErrors(route: Route, media: string, body: unknown, { detailed = true }: { detailed?: boolean } = {}): FieldError[] {
  const pointer = `/paths/${escapeSegment(route.template)}/${route.op.method}/requestBody/content/${escapeSegment(media)}/schema`;
  return check(() => route.schemas.validator(pointer), body, 'body', detailed ? () => route.schemas.detailedValidator(pointer) : undefined);
}

/**
 * Checks a partner's answer against the contract: the status must be documented (or covered by
 * `default`), and a body must match that response's schema. Non-empty result = schema drift.
 */
export function responseErrors(route: Route, status: number, body: unknown): FieldError[] {
  const documented = documentedResponse(route, status);
  if (!documented) return [{ location: 'status', message: `${status} is not a documented response of ${route.op.operationId ?? route.template}` }];
  const { response, pointer } = documented;
  const content = isObject(response?.content) ? (response.content as Json) : undefined;
  if (body === null || body === undefined) return [];
  if (!content) return [{ location: 'body', message: `${status} has no documented body` }];
  const media = Object.keys(content).find((m) => m.includes('json'));
  if (!media || !isObject(content[media]?.schema)) return [];
  return check(() => route.schemas.validator(`${pointer}/content/${escapeSegment(media)}/schema`), body, 'body');
}

/**
 * The response the contract documents for `status` of this operation (exact, `4XX`-style range,
 * or `default`), a local `$ref` followed, with its JSON pointer in the document; undefined when
 * the status is not documented.
 */
export function documentedResponse(route: Route, status: number): { response: Json | undefined; pointer: string } | undefined {
  const responses = (route.op.operation.responses ?? {}) as Json;
  const key = [String(status), `${String(status)[0]}XX`, 'default'].find((k) => Object.hasOwn(responses, k));
  if (!key) return undefined;
  const response = responses[key] as Json;
  const ref = typeof response?.$ref === 'string' && response.$ref.startsWith('#/') ? (response.$ref as string) : undefined;
  if (ref) return { response: valueAt(route.schemas.document, ref.slice(1)) as Json | undefined, pointer: ref.slice(1) };
  return { response, pointer: `/paths/${escapeSegment(route.template)}/${route.op.method}/responses/${escapeSegment(key)}` };
}
