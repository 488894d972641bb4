import { BEYOND_OASDIFF, CATALOGUE_ONLY, catalogueLevel, family, rule, type Position } from './schema-table.ts';
import { SCHEMA_PROPERTY_RULES } from './schema-properties.ts';
import type { RuleSpec } from './types.ts';

const REQUEST_BODY: Position[] = ['request-body', 'request-property'];
const RESPONSE_BODY: Position[] = ['response-body', 'response-property'];
const REQUEST_ALL: Position[] = [...REQUEST_BODY, 'request-parameter'];
const at = <L extends string>(positions: Position[], level: L) => Object.fromEntries(positions.map((p) => [p, level])) as Partial<Record<Position, L>>;
/** The same former id at each position, as `<position>-<former kind>`. */
const formerly = (positions: Position[], kind: string) => Object.fromEntries(positions.map((p) => [p, [`${p}-${kind}`]])) as Partial<Record<Position, string[]>>;
const because = (positions: Position[], why: string) => Object.fromEntries(positions.map((p) => [p, why])) as Partial<Record<Position, string>>;

/** Type, format and nullability. */
const RESPONSE_TYPED: Position[] = [...RESPONSE_BODY, 'response-header'];
const TYPES: RuleSpec[] = [
  ...family(
    'type-changed',
    { ...at(['request-body', 'request-property', 'request-parameter', ...RESPONSE_TYPED], 'breaking'), 'request-parameter-property': 'warning' },
    {
      what: 'Type or format changed so that old values no longer fit (for a parameter property: depending on how it is serialised)',
      request: 'Clients that send {subject} in its old type or format will be refused.',
      response: 'Clients will receive {subject} in a type or format they may fail to parse.',
    },
    { differs: { 'response-header': CATALOGUE_ONLY } },
  ),
  ...family(
    'type-generalized',
    { ...at([...REQUEST_ALL, 'request-parameter-property'], 'info'), ...at(RESPONSE_TYPED, 'breaking') },
    {
      what: 'Type or format widened (integer to number, int32 to int64, date to date-time, a type removed; for text values, anything to string)',
      request: '{subject} accepts more than before; existing clients keep working.',
      response: 'Clients may receive {subject} in more types or formats than before (a number where an integer was promised) and fail to parse it.',
    },
    {
      aliases: formerly(REQUEST_ALL, 'type-widened'),
      differs: {
        ...because(REQUEST_BODY, 'As the oasdiff catalogue, a format removed is a generalization; oasdiff 1.15.0 reports it as type-changed (ERR).'),
        ...because(RESPONSE_BODY, catalogueLevel('a widened response type as type-changed (ERR)')),
        'response-header': CATALOGUE_ONLY,
      },
    },
  ),
  ...family(
    'type-specialized',
    { 'request-parameter-property': 'breaking', ...at(RESPONSE_TYPED, 'info') },
    { what: 'Type or format narrowed (number to integer)', request: 'Clients that send {subject} in its old type or format will be refused.', response: '{subject} comes in fewer types than before; existing clients keep working.' },
    { differs: because(RESPONSE_TYPED, CATALOGUE_ONLY) },
  ),
  ...family(
    'type-compatible',
    at([...REQUEST_BODY, ...RESPONSE_TYPED], 'info'),
    { what: 'Type swapped where values travel as text (not JSON), so old values still read the same', request: '{subject} is read from text as before; existing clients keep working.', response: '{subject} reads from text as before; existing clients keep working.' },
    { differs: because([...REQUEST_BODY, ...RESPONSE_TYPED], CATALOGUE_ONLY) },
  ),
  ...family(
    'became-nullable',
    { ...at([...REQUEST_BODY, 'request-parameter', 'request-parameter-property'], 'info'), ...at(RESPONSE_TYPED, 'breaking') },
    { what: 'null became an allowed value', request: '{subject} now accepts null; existing clients keep working.', response: 'Clients may receive null for {subject} and fail if they do not expect it.' },
    { differs: because(['request-parameter', 'request-parameter-property', 'response-header'], CATALOGUE_ONLY) },
  ),
  ...family(
    'became-not-nullable',
    { ...at([...REQUEST_BODY, 'request-parameter', 'request-parameter-property'], 'breaking'), ...at(RESPONSE_TYPED, 'info') },
    { what: 'null is no longer an allowed value', request: 'Clients that send null for {subject} will be refused.', response: '{subject} will no longer be null; existing clients keep working.' },
    { differs: because(['request-parameter', 'request-parameter-property', ...RESPONSE_TYPED], CATALOGUE_ONLY) },
  ),
];

/** Enumerations. */
const ENUMS: RuleSpec[] = [
  ...family('became-enum', at(REQUEST_ALL, 'breaking'), { what: 'Values restricted to a list (enum) where any value was allowed', request: 'Clients that send a value of {subject} outside the new list will be refused.' }),
  ...family(
    'enum-value-added',
    { ...at(['request-property', 'request-parameter', 'request-parameter-property'], 'info'), 'response-property': 'warning' },
    { what: 'Enum value added', request: '{subject} accepts new values; existing clients keep working.', response: 'Clients may receive a value of {subject} they do not know: they must tolerate unknown values.' },
    { differs: { 'request-parameter-property': CATALOGUE_ONLY } },
  ),
  ...family(
    'enum-value-removed',
    { ...at(['request-body', 'request-property', 'request-parameter', 'request-parameter-property'], 'breaking'), 'response-property': 'info' },
    { what: 'Enum value removed', request: 'Clients that send a removed value of {subject} will be refused.', response: '{subject} will no longer take the removed values; existing clients keep working.' },
    {
      differs: {
        'request-body': catalogueLevel('it as INFO'),
        'request-parameter-property': CATALOGUE_ONLY,
      },
    },
  ),
  rule('response-mediatype-enum-value-removed', 'info', 'Enum value removed from a response body', 'The response body will no longer take the removed values; existing clients keep working.'),
  rule('request-read-only-property-enum-value-removed', 'info', 'Enum value removed from a read-only request property', 'Clients do not send {subject} (it is read-only); nothing changes for them.'),
  rule('response-write-only-property-enum-value-added', 'info', 'Enum value added to a write-only response property', 'Responses do not carry {subject} (it is write-only); nothing changes for clients reading them.'),
  rule('request-header-property-became-enum', 'breaking', 'A property inside a request header’s value restricted to a list (enum)', 'Clients that send {subject} with a value outside the new list will be refused.'),
  ...family('x-extensible-enum-value-removed', at(['request-property', 'request-parameter'], 'breaking'), { what: 'x-extensible-enum value removed', request: 'Clients that send a removed value of {subject} will be refused.' }),
];

/** Patterns. */
const PATTERNS: RuleSpec[] = [
  ...family(
    'pattern-added',
    { ...at(['request-property', 'request-parameter'], 'breaking'), 'response-property': 'info' },
    { what: 'Pattern added (or set where it was empty)', request: 'Clients that send {subject} not matching the new pattern will be refused.', response: '{subject} now follows a pattern; existing clients keep working.' },
  ),
  ...family('pattern-removed', at(['request-property', 'request-parameter', 'response-property'], 'info'), { what: 'Pattern removed', request: '{subject} accepts any text; existing clients keep working.', response: '{subject} may now be any text: clients that validate it against the old pattern may reject it.' }),
  ...family(
    'pattern-changed',
    { ...at(['request-property', 'request-parameter'], 'warning'), 'response-property': 'info' },
    { what: 'Pattern changed', request: 'Clients that send {subject} matching only the old pattern will be refused: check the values they send.', response: '{subject} follows a different pattern: clients that validate it may reject new values.' },
  ),
  ...family('pattern-generalized', at(['request-property', 'request-parameter'], 'info'), { what: 'Pattern changed to one that accepts anything (.*)', request: '{subject} accepts any text; existing clients keep working.' }),
];

/** Numeric, length and size bounds: a stricter bound in a request refuses clients, a looser one in a response surprises them. */
const LIMIT = {
  stricter: 'Clients that send {subject} outside the new limit will be refused.',
  looser: '{subject} accepts more than before; existing clients keep working.',
  set: 'A limit on {subject} was set where there was none: clients that send values beyond it will be refused.',
  surprise: 'Clients may receive {subject} outside the limits they were told about and fail to handle it.',
};
const bounds = (kind: string, what: string, levels: Parameters<typeof family>[1], extras?: Parameters<typeof family>[3]) => {
  const looser = /^(min|exclusive-min)-/.test(kind) ? kind.endsWith('-decreased') : kind.endsWith('-increased');
  return family(kind, levels, { what, request: kind.endsWith('-set') ? LIMIT.set : looser ? LIMIT.looser : LIMIT.stricter, response: LIMIT.surprise }, extras);
};
const BOUNDS: RuleSpec[] = [
  ...bounds('min-increased', 'Minimum raised', at(REQUEST_ALL, 'breaking')),
  ...bounds('min-decreased', 'Minimum lowered', { ...at(REQUEST_ALL, 'info'), ...at(RESPONSE_BODY, 'breaking') }),
  ...bounds('min-set', 'Minimum set where there was none', at(REQUEST_ALL, 'warning')),
  ...bounds('max-decreased', 'Maximum lowered', at(REQUEST_ALL, 'breaking')),
  ...bounds('max-increased', 'Maximum raised', { ...at(REQUEST_ALL, 'info'), ...at(RESPONSE_BODY, 'breaking') }),
  ...bounds('max-set', 'Maximum set where there was none', at(REQUEST_ALL, 'warning')),
  ...bounds('exclusive-min-increased', 'Exclusive minimum raised', at(REQUEST_ALL, 'breaking')),
  ...bounds('exclusive-min-decreased', 'Exclusive minimum lowered', { ...at(REQUEST_ALL, 'info'), ...at(RESPONSE_BODY, 'breaking') }),
  ...bounds('exclusive-min-set', 'Exclusive minimum set (or made exclusive) where there was none', at(REQUEST_ALL, 'warning')),
  ...bounds('exclusive-max-decreased', 'Exclusive maximum lowered', at(REQUEST_ALL, 'breaking')),
  ...bounds('exclusive-max-increased', 'Exclusive maximum raised', { ...at(REQUEST_ALL, 'info'), ...at(RESPONSE_BODY, 'breaking') }),
  ...bounds('exclusive-max-set', 'Exclusive maximum set (or made exclusive) where there was none', at(REQUEST_ALL, 'warning')),
  ...bounds('min-length-increased', 'Minimum length raised (a missing minLength counts as 0)', at(REQUEST_ALL, 'breaking')),
  ...bounds('min-length-decreased', 'Minimum length lowered', { ...at(REQUEST_ALL, 'info'), ...at(RESPONSE_BODY, 'breaking') }),
  ...bounds('max-length-decreased', 'Maximum length lowered', at(REQUEST_ALL, 'breaking')),
  ...bounds('max-length-increased', 'Maximum length raised', { ...at(REQUEST_ALL, 'info'), ...at(RESPONSE_BODY, 'breaking') }),
  ...bounds('max-length-set', 'Maximum length set where there was none', at(REQUEST_ALL, 'warning')),
  ...bounds('max-length-unset', 'Maximum length removed', at(RESPONSE_BODY, 'breaking')),
  ...bounds('min-items-increased', 'Minimum number of items raised (a missing minItems counts as 0)', at(REQUEST_ALL, 'breaking')),
  ...bounds('min-items-decreased', 'Minimum number of items lowered', { 'request-parameter': 'info', ...at(RESPONSE_BODY, 'breaking') }),
  ...bounds('min-items-set', 'Minimum number of items set where there was none', at(REQUEST_ALL, 'warning'), { differs: because(REQUEST_ALL, catalogueLevel('it as min-items-increased from 0 (ERR)')) }),
  ...bounds('min-items-unset', 'Minimum number of items removed', at(RESPONSE_BODY, 'breaking'), { differs: because(RESPONSE_BODY, catalogueLevel('it as min-items-decreased to 0 (ERR)')) }),
  ...bounds('max-items-decreased', 'Maximum number of items lowered', { ...at(REQUEST_BODY, 'warning'), 'request-parameter': 'breaking' }, { accordOnly: because(REQUEST_BODY, BEYOND_OASDIFF) }),
  ...bounds('max-items-increased', 'Maximum number of items raised', { 'request-parameter': 'info', ...at(RESPONSE_BODY, 'warning') }, { accordOnly: because(RESPONSE_BODY, BEYOND_OASDIFF) }),
  ...bounds('min-properties-increased', 'Minimum number of properties raised', at(REQUEST_BODY, 'warning'), { accordOnly: because(REQUEST_BODY, BEYOND_OASDIFF) }),
  ...bounds('min-properties-decreased', 'Minimum number of properties lowered', at(RESPONSE_BODY, 'warning'), { accordOnly: because(RESPONSE_BODY, BEYOND_OASDIFF) }),
  ...bounds('max-properties-decreased', 'Maximum number of properties lowered', at(REQUEST_BODY, 'warning'), { accordOnly: because(REQUEST_BODY, BEYOND_OASDIFF) }),
  ...bounds('max-properties-increased', 'Maximum number of properties raised', at(RESPONSE_BODY, 'warning'), { accordOnly: because(RESPONSE_BODY, BEYOND_OASDIFF) }),
  ...['min-increased', 'max-decreased', 'exclusive-min-increased', 'exclusive-max-decreased', 'max-length-decreased'].map((kind) =>
    rule(`request-read-only-property-${kind}`, 'info', `A limit of a read-only request property tightened (${kind})`, 'Clients do not send {subject} (it is read-only); nothing changes for them.'),
  ),
  ...family('multiple-of-changed', at([...REQUEST_ALL, ...RESPONSE_BODY], 'warning'), { what: 'multipleOf changed', request: 'Clients that send {subject} not a multiple of the new step will be refused: check the values they send.', response: 'Clients that check {subject} against the old step may reject new values.' }, { accordOnly: because([...REQUEST_ALL, ...RESPONSE_BODY], BEYOND_OASDIFF) }),
  ...family('unique-items-changed', { ...at(REQUEST_BODY, 'warning'), ...at(RESPONSE_BODY, 'warning') }, { what: 'uniqueItems required (request) or no longer guaranteed (response)', request: 'Clients that send {subject} with repeated items will be refused.', response: 'Clients may receive {subject} with repeated items they do not expect.' }, { accordOnly: because([...REQUEST_BODY, ...RESPONSE_BODY], BEYOND_OASDIFF) }),
  ...family('additional-properties-disallowed', at(REQUEST_BODY, 'warning'), { what: 'additionalProperties set to false', request: 'Clients that send properties of {subject} not listed in the contract will be refused.' }, { accordOnly: because(REQUEST_BODY, BEYOND_OASDIFF) }),
  ...family('additional-properties-allowed', at(RESPONSE_BODY, 'warning'), { what: 'additionalProperties: false removed', response: 'Clients may receive properties of {subject} that the contract does not list.' }, { accordOnly: because(RESPONSE_BODY, BEYOND_OASDIFF) }),
];

/** Default values: informative for bodies; for an optional request parameter the server now assumes a different value. */
const DEFAULTS: RuleSpec[] = (['added', 'removed', 'changed'] as const).flatMap((change) =>
  family(
    `default-value-${change}`,
    { ...at(REQUEST_BODY, 'info'), 'request-parameter': 'breaking', ...at(RESPONSE_BODY, 'info') },
    {
      what: `Default value ${change}`,
      request: 'Clients that omit {subject} get a different value assumed for them (for a parameter, the server now behaves differently).',
      response: 'The documented default of {subject} changed; clients that rely on it should check.',
    },
    change === 'changed' ? { aliases: formerly([...REQUEST_ALL, ...RESPONSE_BODY], 'default-changed') } : {},
  ),
);

/** oneOf / anyOf / allOf alternatives added or removed, and discriminators. */
const COMPOSITION: RuleSpec[] = [
  ...family('one-of-added', { ...at(REQUEST_BODY, 'info'), ...at(RESPONSE_BODY, 'breaking') }, { what: 'oneOf alternative added', request: '{subject} accepts one more shape; existing clients keep working.', response: 'Clients may receive {subject} in a shape they do not know.' }, { aliases: formerly([...REQUEST_BODY, ...RESPONSE_BODY], 'one-of-alternative-added') }),
  ...family('one-of-removed', { ...at(REQUEST_BODY, 'breaking'), ...at(RESPONSE_BODY, 'info') }, { what: 'oneOf alternative removed', request: 'Clients that send {subject} in the removed shape will be refused.', response: '{subject} will no longer come in the removed shape; existing clients keep working.' }, { aliases: formerly([...REQUEST_BODY, ...RESPONSE_BODY], 'one-of-alternative-removed') }),
  ...family('any-of-added', at([...REQUEST_BODY, ...RESPONSE_BODY], 'info'), { what: 'anyOf alternative added', request: '{subject} accepts one more shape; existing clients keep working.', response: '{subject} may come in one more shape; clients that ignore what they do not know are unaffected.' }, { aliases: formerly([...REQUEST_BODY, ...RESPONSE_BODY], 'any-of-alternative-added') }),
  ...family('any-of-removed', { ...at(REQUEST_BODY, 'breaking'), ...at(RESPONSE_BODY, 'info') }, { what: 'anyOf alternative removed', request: 'Clients that send {subject} in the removed shape will be refused.', response: '{subject} will no longer come in the removed shape; existing clients keep working.' }, { aliases: formerly([...REQUEST_BODY, ...RESPONSE_BODY], 'any-of-alternative-removed') }),
  ...family('all-of-added', { ...at(REQUEST_BODY, 'breaking'), ...at(RESPONSE_BODY, 'info') }, { what: 'allOf schema added', request: 'Clients that send {subject} must now also satisfy the added schema, or be refused.', response: '{subject} also satisfies the added schema; existing clients keep working.' }),
  ...family('all-of-removed', { ...at(REQUEST_BODY, 'warning'), ...at(RESPONSE_BODY, 'info') }, { what: 'allOf schema removed', request: '{subject} no longer has to satisfy the removed schema: check that the server still gets what it needs.', response: '{subject} no longer promises the removed schema; clients that rely on it should check.' }),
  ...family('all-of-added-annotation-only', at([...REQUEST_BODY, ...RESPONSE_BODY], 'info'), { what: 'allOf schema added that only annotates (description, title, examples, deprecated…)', request: '{subject} accepts the same values; existing clients keep working.', response: '{subject} carries the same values; existing clients keep working.' }, { differs: because([...REQUEST_BODY, ...RESPONSE_BODY], catalogueLevel('it as any allOf change (ERR in requests)')) }),
  ...family('all-of-removed-annotation-only', at([...REQUEST_BODY, ...RESPONSE_BODY], 'info'), { what: 'allOf schema removed that only annotated', request: '{subject} accepts the same values; existing clients keep working.', response: '{subject} carries the same values; existing clients keep working.' }, { differs: because([...REQUEST_BODY, ...RESPONSE_BODY], catalogueLevel('it as any allOf change (WARN in requests)')) }),
  ...(['added', 'removed', 'property-name-changed', 'mapping-added', 'mapping-deleted', 'mapping-changed'] as const).flatMap((change) =>
    family(`discriminator-${change}`, at([...REQUEST_BODY, ...RESPONSE_BODY], 'info'), {
      what: `Discriminator ${change.replace(/-/g, ' ')}`,
      request: 'How the server tells the shapes of {subject} apart changed: clients that set the discriminator should check the values they send.',
      response: 'How clients tell the shapes of {subject} apart changed: clients that switch on the discriminator should check.',
    }),
  ),
];

/** Anything else in a schema that changed and has no rule of its own. */
const OTHER: RuleSpec[] = family(
  'schema-changed',
  at(['request-body', 'request-property', 'request-parameter', 'request-parameter-property', 'response-body', 'response-property', 'response-header'], 'warning'),
  { what: 'A schema keyword without a rule of its own changed', request: 'What clients may send as {subject} changed in a way Accord does not classify: check with consumers before release.', response: 'What clients receive as {subject} changed in a way Accord does not classify: check with consumers before release.' },
  { accordOnly: because(['request-body', 'request-property', 'request-parameter', 'request-parameter-property', 'response-body', 'response-property', 'response-header'], 'Accord’s catch-all for schema keywords it has no rule for, so no change goes unreported; a reviewer decides.') },
);

/** Rules for schema keywords common to OpenAPI 3.0 and 3.1 (src/diff/schema-*.ts), at every target. */
export const SCHEMA_RULES: RuleSpec[] = [...TYPES, ...ENUMS, ...PATTERNS, ...BOUNDS, ...DEFAULTS, ...COMPOSITION, ...SCHEMA_PROPERTY_RULES, ...OTHER];
