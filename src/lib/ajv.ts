import { Ajv2020, type Options } from 'ajv/dist/2020.js';
import ajvDraft04 from 'ajv-draft-04';
import ajvFormats from 'ajv-formats';

// These packages are CommonJS with `exports.default`; under NodeNext the default import is the module object.
const AjvDraft04 = ((ajvDraft04 as unknown as { default?: typeof ajvDraft04 }).default ?? ajvDraft04) as unknown as new (options: Options) => Ajv2020;
const addFormats = ((ajvFormats as unknown as { default?: unknown }).default ?? ajvFormats) as (ajv: Ajv2020) => Ajv2020;

/**
 * Every validator checks own properties only: a `required: [constructor]` is not satisfied by
 * what every object inherits (ajv's default would be).
 */
const OWN_PROPERTIES: Options = { ownProperties: true };

/** A JSON Schema draft 2020-12 validator factory, optionally with ajv-formats. */
export function newAjv2020(options: Options = {}, withFormats = false): Ajv2020 {
  const ajv = new Ajv2020({ ...OWN_PROPERTIES, ...options });
  if (withFormats) addFormats(ajv);
  return ajv;
}

/** A JSON Schema draft-04 validator factory (OpenAPI 3.0's structure schema is draft-04). */
export function newAjvDraft04(options: Options = {}): Ajv2020 {
  return new AjvDraft04({ ...OWN_PROPERTIES, ...options });
}

/** Data with more values than this is too large to have every schema problem listed. */
const DETAILED_MAX_VALUES = 20_000;

/**
 * Validates `data` against one schema compiled twice: `quick` stops at the first problem (ajv's
 * default), `detailed` (allErrors) lists every problem. The detailed pass runs only for invalid
 * data of at most DETAILED_MAX_VALUES values: with allErrors, one large invalid document (every
 * item of a two-million-item array) costs minutes and gigabytes of error objects. Returns the
 * problems, or undefined when the data is valid.
 */
export function boundedValidate(quick: ValidateFunction, detailed: () => ValidateFunction, data: unknown): ErrorObject[] | undefined {
  if (quick(data)) return undefined;
  if (!valuesAtMost(data, DETAILED_MAX_VALUES)) return quick.errors ?? [];
  const full = detailed();
  full(data);
  return full.errors ?? quick.errors ?? [];
}

/** Whether `data` holds at most `max` values (objects, arrays and scalars), counted with an early exit. */
function valuesAtMost(data: unknown, max: number): boolean {
  const stack = [data];
  let seen = 0;
  while (stack.length > 0) {
    if (++seen > max) return false;
    const node = stack.pop();
    if (typeof node === 'object' && node !== null) for (const child of Object.values(node)) stack.push(child);
  }
  return true;
}

export type { ErrorObject, ValidateFunction } from 'ajv/dist/2020.js';
import type { ErrorObject, ValidateFunction } from 'ajv/dist/2020.js';
