import type { Json } from '../lib/json.ts';
import type { FillContext } from './schema-node.ts';

/**
 * Numeric, length and size bounds, as oasdiff judges them: a bound set where there was none
 * is a warning in requests (`-set`), a missing minLength / minItems counts as 0, a bound
 * removed from a request is not reported, and a read-only request property's tightened
 * bound has its own informative id. multipleOf, uniqueItems, minProperties / maxProperties,
 * maxItems outside parameters and additionalProperties: false are Accord's own warnings.
 */

const num = (s: Json, name: string): number | undefined => (typeof s[name] === 'number' ? s[name] : undefined);

/** Kinds that, in a request, are about a read-only property's bound: informative, under their own id. */
const READ_ONLY_ID = new Set(['min-increased', 'max-decreased', 'exclusive-min-increased', 'exclusive-max-decreased', 'max-length-decreased']);
/** Kinds not reported for a read-only request property (clients do not send it). */
const READ_ONLY_SKIP = new Set(['min-set', 'max-set', 'exclusive-min-set', 'exclusive-max-set', 'max-length-set', 'min-items-increased', 'min-items-set', 'max-items-decreased', 'min-properties-increased', 'max-properties-decreased']);

/** Compares every bound keyword of a schema pair. */
export function compareBounds(c: FillContext): void {
  const { b, r, req } = c;
  const readOnly = req && r.readOnly === true;
  const add = (kind: string, detail: string) => {
    if (readOnly && READ_ONLY_SKIP.has(kind)) return;
    c.add(kind, detail, readOnly && READ_ONLY_ID.has(kind) ? { id: `request-read-only-property-${kind}` } : {});
  };

  // Numeric bounds: a bound removed is not reported (as oasdiff); the table says which way is stricter.
  for (const [name, kebab] of [
    ['minimum', 'min'],
    ['exclusiveMinimum', 'exclusive-min'],
    ['maximum', 'max'],
    ['exclusiveMaximum', 'exclusive-max'],
  ] as const) {
    const vb = num(b, name);
    const vr = num(r, name);
    if (vb === vr) {
      // OpenAPI 3.0: `exclusiveMinimum: true` makes `minimum` exclusive, a tightening.
      if (req && b[name] !== true && r[name] === true) add(`${kebab}-set`, `${name} set`);
      continue;
    }
    if (vb === undefined) {
      if (req) add(`${kebab}-set`, `${name} ${vr} set`);
    } else if (vr !== undefined) {
      const raised = vr > vb;
      add(`${kebab}-${raised ? 'increased' : 'decreased'}`, `${name} ${raised ? 'raised' : 'lowered'} from ${vb} to ${vr}`);
    }
  }

  // Lengths and sizes whose absence means 0.
  for (const [name, kebab] of [
    ['minLength', 'min-length'],
    ['minItems', 'min-items'],
    ['minProperties', 'min-properties'],
  ] as const) {
    // As the oasdiff catalogue: a minItems set where there was none (request) or removed (response) has its own id.
    if (name === 'minItems' && req && num(b, name) === undefined && num(r, name) !== undefined) {
      add('min-items-set', `minItems ${num(r, name)} set`);
      continue;
    }
    if (name === 'minItems' && !req && num(b, name) !== undefined && num(r, name) === undefined) {
      add('min-items-unset', `minItems ${num(b, name)} removed`);
      continue;
    }
    const vb = num(b, name) ?? 0;
    const vr = num(r, name) ?? 0;
    if (vb !== vr) add(`${kebab}-${vr > vb ? 'increased' : 'decreased'}`, `${name} ${vr > vb ? 'raised' : 'lowered'} from ${vb} to ${vr}`);
  }

  // Upper sizes: compared when both are set; maxLength also when it is set or unset.
  for (const [name, kebab] of [
    ['maxLength', 'max-length'],
    ['maxItems', 'max-items'],
    ['maxProperties', 'max-properties'],
  ] as const) {
    const vb = num(b, name);
    const vr = num(r, name);
    if (vb === vr) continue;
    if (vb !== undefined && vr !== undefined) add(`${kebab}-${vr > vb ? 'increased' : 'decreased'}`, `${name} ${vr > vb ? 'raised' : 'lowered'} from ${vb} to ${vr}`);
    else if (name === 'maxLength' && vb === undefined && req) add('max-length-set', `maxLength ${vr} set`);
    else if (name === 'maxLength' && vr === undefined && !req) add('max-length-unset', `maxLength ${vb} removed`);
  }

  // Stricter values in requests, looser ones in responses (Accord's own warnings).
  if (readOnly) return;
  if (b.multipleOf !== r.multipleOf && (req ? r.multipleOf : b.multipleOf) !== undefined) c.add('multiple-of-changed', `multipleOf changed from ${b.multipleOf ?? 'none'} to ${r.multipleOf ?? 'none'}`);
  if (req ? b.uniqueItems !== true && r.uniqueItems === true : b.uniqueItems === true && r.uniqueItems !== true) c.add('unique-items-changed', req ? 'items must now be unique' : 'items are no longer guaranteed unique');
  if (req && r.additionalProperties === false && b.additionalProperties !== false) c.add('additional-properties-disallowed', 'no longer accepts properties it does not list');
  if (!req && b.additionalProperties === false && r.additionalProperties !== false) c.add('additional-properties-allowed', 'may now contain properties it does not list');
}
