import { AsyncLocalStorage } from 'node:async_hooks';
import { createRulesetFunction } from '@stoplight/spectral-core';
import * as builtins from '@stoplight/spectral-functions';

/**
 * Rule functions a ruleset may name: Spectral's built-ins plus Accord's own. A ruleset is data,
 * never code — it picks functions from this closed list (ADR 0017).
 */

/** What one lint run knows beyond the document: the operations the control matrix covers for it. */
export interface LintContext {
  /** operationIds that are a step or a compensation of a flow governing the linted partner/api/version. */
  coveredOperationIds: ReadonlySet<string>;
}

/**
 * The context of the run in progress. One Spectral instance serves concurrent runs, so the
 * functions read their per-run input from here instead of from a closure built per run (which
 * would mean building the ruleset, ~150 ms, for every lint).
 */
export const lintContext = new AsyncLocalStorage<LintContext>();

const METHODS = ['get', 'put', 'post', 'delete', 'options', 'head', 'patch', 'trace'] as const;
const READ_METHODS = new Set(['get', 'head', 'options', 'trace']);
type Obj = Record<string, unknown>;
/** Spectral's IFunctionResult (not exported from the package root). */
type FunctionResult = { message: string; path?: Array<string | number> };
const isObject = (v: unknown): v is Obj => typeof v === 'object' && v !== null && !Array.isArray(v);

/**
 * Given a path item (resolved): every non-read operation a matrix flow covers declares the
 * idempotency header (default Idempotency-Key), on the operation or on the path item.
 */
const accordIdempotencyKey = createRulesetFunction<Obj, { header?: string } | null>(
  {
    input: { type: 'object' },
    options: { type: ['object', 'null'], properties: { header: { type: 'string' } }, additionalProperties: false },
  },
  (pathItem, options, context) => {
    const covered = lintContext.getStore()?.coveredOperationIds;
    if (!covered || covered.size === 0) return;
    const header = options?.header ?? 'Idempotency-Key';
    const shared = Array.isArray(pathItem.parameters) ? pathItem.parameters : [];
    const results: FunctionResult[] = [];
    for (const method of METHODS) {
      const operation = pathItem[method];
      if (!isObject(operation) || READ_METHODS.has(method)) continue;
      const id = operation.operationId;
      if (typeof id !== 'string' || !covered.has(id)) continue;
      const parameters = [...shared, ...(Array.isArray(operation.parameters) ? operation.parameters : [])];
      const declared = parameters.some((p) => isObject(p) && p.in === 'header' && typeof p.name === 'string' && p.name.toLowerCase() === header.toLowerCase());
      if (!declared) results.push({ message: `Operation "${id}" is covered by a control-matrix flow and must declare the ${header} header.`, path: [...context.path, method] });
    }
    return results;
  },
);

/** Given the document root (unresolved): a global security requirement, or one on every operation. */
const accordSecurityApplied = createRulesetFunction<Obj, null>({ input: { type: 'object' }, options: null }, (doc) => {
  if ((Array.isArray(doc.security) && doc.security.length > 0) || !isObject(doc.paths)) return;
  const results: FunctionResult[] = [];
  for (const [p, item] of Object.entries(doc.paths)) {
    if (!isObject(item)) continue;
    for (const method of METHODS) {
      const operation = item[method];
      if (isObject(operation) && !(Array.isArray(operation.security) && operation.security.length > 0)) {
        results.push({ message: 'Operation has no security requirement and the document declares no global one.', path: ['paths', p, method] });
      }
    }
  }
  return results;
});

/**
 * Given an enum array: values that appear more than once. Spectral's own rule checks this with
 * JSON Schema `uniqueItems`, which is quadratic (20 s on a 50,000-value enum); this is linear.
 */
const accordUniqueEnum = createRulesetFunction<unknown, null>({ input: null, options: null }, (values, _options, context) => {
  if (!Array.isArray(values)) return;
  const first = new Map<string, number>();
  const results: FunctionResult[] = [];
  values.forEach((value, index) => {
    const key = JSON.stringify(value) ?? 'undefined';
    const seen = first.get(key);
    if (seen === undefined) first.set(key, index);
    else results.push({ message: `Enum value ${key.length > 60 ? `${key.slice(0, 57)}…` : key} is listed twice (first at index ${seen}).`, path: [...context.path, index] });
  });
  return results;
});

const { alphabetical, casing, defined, enumeration, falsy, length, or, pattern, schema, truthy, unreferencedReusableObject, xor } = builtins;

/** Every function a ruleset's `then.function` may name. */
export const RULE_FUNCTIONS: Readonly<Record<string, unknown>> = {
  alphabetical,
  casing,
  defined,
  enumeration,
  falsy,
  length,
  or,
  pattern,
  schema,
  truthy,
  undefined: builtins.undefined,
  unreferencedReusableObject,
  xor,
  accordIdempotencyKey,
  accordSecurityApplied,
  accordUniqueEnum,
};
