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

export type { ErrorObject, ValidateFunction } from 'ajv/dist/2020.js';
