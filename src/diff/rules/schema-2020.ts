import type { Direction, Level } from '../types.ts';
import type { RuleSpec } from './types.ts';

/** Where a schema finding sits; the diff composes rule ids as `<direction>-<target>-<kind>`. */
type Target = 'body' | 'property' | 'parameter' | 'header';

/** The targets each direction has: request headers are parameters, response headers are headers. */
const TARGETS: Record<Direction, Target[]> = { request: ['body', 'property', 'parameter'], response: ['body', 'property', 'header'] };

/** One finding kind of src/diff/schema-2020.ts, the rows it makes at every target. */
export interface Kind2020 {
  kind: string;
  /** Default level when clients send the schema (request) and when they read it (response). */
  level: Record<Direction, Level>;
  /** What the kind detects, one line. */
  description: string;
  /** One sentence per direction for a partner; `{subject}` names the body, property or parameter. */
  consequence: Record<Direction, string>;
  /** The targets oasdiff 1.15 checks this for (same id, same level); empty when oasdiff has no check. */
  oasdiff: Target[];
  /** Why Accord reports it although (or differently from how) oasdiff does. */
  differs?: string;
}

const BODY_AND_PROPERTY: Target[] = ['body', 'property'];
/** Widening a request or narrowing a response: nothing a client does stops working. */
const FINE: Record<Direction, string> = {
  request: 'Existing clients keep working: {subject} accepts everything it accepted before.',
  response: 'Existing clients keep working: {subject} only holds values it could hold before.',
};
const NOT_CHECKED = 'oasdiff 1.15 does not report this change; Accord flags it for review (a warning, which the policy may raise to breaking) so that the verdict stays oasdiff’s.';

/**
 * Constraint keywords (`contains`, `if`, …): adding one tightens a request and loosens a
 * response. `refused` completes "Requests whose {subject} … will be rejected", `loose` completes
 * "Clients may receive {subject} …".
 */
function constraint(kind: string, keyword: string, what: string, refused: string, loose: string): Kind2020[] {
  return [
    {
      kind: `${kind}-added`,
      level: { request: 'breaking', response: 'info' },
      description: `\`${keyword}\` added: ${what}`,
      consequence: { request: `Requests whose {subject} ${refused} will be rejected.`, response: FINE.response },
      oasdiff: BODY_AND_PROPERTY,
    },
    {
      kind: `${kind}-removed`,
      level: { request: 'info', response: 'breaking' },
      description: `\`${keyword}\` removed: ${what} no longer`,
      consequence: { request: FINE.request, response: `Clients may receive {subject} ${loose}.` },
      oasdiff: BODY_AND_PROPERTY,
    },
  ];
}

/** Bounds of `contains`; `up` is the change that loosens a request. */
function containsBound(name: 'min' | 'max'): Kind2020[] {
  const keyword = `${name}Contains`;
  const looser = name === 'min' ? 'decreased' : 'increased';
  const tighter = name === 'min' ? 'increased' : 'decreased';
  const tight = name === 'min' ? 'fewer matching items than the new minimum' : 'more matching items than the new maximum';
  const loose = name === 'min' ? 'fewer matching items than before' : 'more matching items than before';
  return [
    { kind: `${name}-contains-${tighter}`, level: { request: 'breaking', response: 'info' }, description: `\`${keyword}\` ${tighter}`, consequence: { request: `Requests whose {subject} has ${tight} will be rejected.`, response: FINE.response }, oasdiff: BODY_AND_PROPERTY },
    { kind: `${name}-contains-${looser}`, level: { request: 'info', response: 'breaking' }, description: `\`${keyword}\` ${looser}`, consequence: { request: FINE.request, response: `Clients may receive {subject} with ${loose}.` }, oasdiff: BODY_AND_PROPERTY },
    { kind: `${name}-contains-set`, level: { request: 'warning', response: 'info' }, description: `\`${keyword}\` set where the default applied`, consequence: { request: `Requests whose {subject} has ${tight} will be rejected.`, response: FINE.response }, oasdiff: [], differs: `oasdiff compares \`${keyword}\` only when both versions set it. ${NOT_CHECKED}` },
    { kind: `${name}-contains-unset`, level: { request: 'info', response: 'warning' }, description: `\`${keyword}\` removed (the default applies)`, consequence: { request: FINE.request, response: `Clients may receive {subject} with ${loose}.` }, oasdiff: [], differs: `oasdiff compares \`${keyword}\` only when both versions set it. ${NOT_CHECKED}` },
  ];
}

/** Keywords whose boolean `false` oasdiff ignores (kin-openapi drops boolean subschemas). */
function unevaluated(kind: 'items' | 'properties'): Kind2020[] {
  const keyword = kind === 'items' ? 'unevaluatedItems' : 'unevaluatedProperties';
  const extra = `extra ${kind}`;
  return [
    ...constraint(`unevaluated-${kind}`, keyword, `a schema for the ${kind} no other keyword covers`, `holds ${extra} of a kind no longer allowed`, `with ${extra} of any kind`),
    {
      kind: `unevaluated-${kind}-disallowed`,
      level: { request: 'warning', response: 'info' },
      description: `\`${keyword}: false\` set: ${kind} no other keyword covers are no longer allowed`,
      consequence: { request: `Requests whose {subject} holds ${extra} will be rejected.`, response: FINE.response },
      oasdiff: [],
      differs: `oasdiff ignores a boolean \`${keyword}\` (its loader drops it), so it reports nothing for \`false\` and reports a schema replacing \`false\` as “added”. ${NOT_CHECKED}`,
    },
    {
      kind: `unevaluated-${kind}-allowed`,
      level: { request: 'info', response: 'warning' },
      description: `\`${keyword}: false\` removed or replaced by a schema: ${kind} no other keyword covers are allowed again`,
      consequence: { request: FINE.request, response: `Clients may receive {subject} with ${extra} they do not expect.` },
      oasdiff: [],
      differs: `oasdiff ignores a boolean \`${keyword}\` (its loader drops it). ${NOT_CHECKED}`,
    },
  ];
}

/** Every finding kind of src/diff/schema-2020.ts. */
export const KINDS_2020: Kind2020[] = [
  {
    kind: 'list-of-types-widened',
    level: { request: 'info', response: 'breaking' },
    description: 'A list of types (a `type` array, or `oneOf`/`anyOf` of plain types) gained a type',
    consequence: { request: FINE.request, response: 'Clients may receive {subject} as a type they do not expect.' },
    oasdiff: ['body', 'property', 'parameter'],
    differs: 'oasdiff reads only `oneOf`/`anyOf` of plain types as a list; it reports any change to a `type` array as type-changed (breaking) in both directions. Accord reads a `type` array as the list of types it is, so that accepting one more type in a request is not breaking.',
  },
  {
    kind: 'list-of-types-narrowed',
    level: { request: 'breaking', response: 'info' },
    description: 'A list of types (a `type` array, or `oneOf`/`anyOf` of plain types) lost a type',
    consequence: { request: 'Requests that send {subject} as a type no longer listed will be rejected.', response: FINE.response },
    oasdiff: ['body', 'property', 'parameter'],
    differs: 'oasdiff reads only `oneOf`/`anyOf` of plain types as a list; it reports any change to a `type` array as type-changed (breaking) in both directions. Accord reads a `type` array as the list of types it is.',
  },
  {
    kind: 'const-added',
    level: { request: 'breaking', response: 'info' },
    description: '`const` added: only one value is valid',
    consequence: { request: 'Requests whose {subject} is not the one fixed value will be rejected.', response: FINE.response },
    oasdiff: BODY_AND_PROPERTY,
  },
  {
    kind: 'const-removed',
    level: { request: 'info', response: 'breaking' },
    description: '`const` removed: any value of the type is valid',
    consequence: { request: FINE.request, response: 'Clients that rely on {subject} always having one fixed value may receive other values.' },
    oasdiff: BODY_AND_PROPERTY,
  },
  {
    kind: 'const-changed',
    level: { request: 'breaking', response: 'breaking' },
    description: '`const` changed to another value',
    consequence: { request: 'Requests that send the old fixed value of {subject} will be rejected.', response: 'Clients that expect the old fixed value of {subject} will receive a different one.' },
    oasdiff: BODY_AND_PROPERTY,
  },
  ...constraint('contains', 'contains', 'an array must hold at least one matching item', 'holds none of the items it must now hold', 'without the item it used to always hold'),
  ...containsBound('min'),
  ...containsBound('max'),
  {
    kind: 'prefix-items-added',
    level: { request: 'info', response: 'breaking' },
    description: '`prefixItems` added or given more positions',
    consequence: { request: FINE.request, response: 'Clients may receive {subject} with leading items laid out differently from before.' },
    oasdiff: BODY_AND_PROPERTY,
  },
  {
    kind: 'prefix-items-removed',
    level: { request: 'breaking', response: 'info' },
    description: '`prefixItems` removed or given fewer positions',
    consequence: { request: 'Requests that lay out the leading items of {subject} as before may be rejected.', response: FINE.response },
    oasdiff: BODY_AND_PROPERTY,
  },
  {
    kind: 'items-after-prefix-items-added',
    level: { request: 'warning', response: 'info' },
    description: '`items` added next to `prefixItems`: the items after the prefix are now constrained',
    consequence: { request: 'Requests whose {subject} has items after the fixed positions that do not fit the new rule will be rejected.', response: FINE.response },
    oasdiff: [],
    differs: NOT_CHECKED,
  },
  {
    kind: 'items-after-prefix-items-removed',
    level: { request: 'info', response: 'warning' },
    description: '`items` removed next to `prefixItems`: the items after the prefix may be anything',
    consequence: { request: FINE.request, response: 'Clients may receive {subject} with items after the fixed positions of any shape.' },
    oasdiff: [],
    differs: NOT_CHECKED,
  },
  ...constraint('pattern-property', 'patternProperties', 'properties whose names match a pattern must match a schema', 'has properties named like the new pattern with values it does not allow', 'with properties whose values are no longer checked'),
  ...constraint('property-names', 'propertyNames', 'every property name must match a schema', 'uses property names no longer allowed', 'with property names that were not allowed before'),
  {
    kind: 'dependent-required-added',
    level: { request: 'breaking', response: 'info' },
    description: '`dependentRequired` entry added: sending one property requires others',
    consequence: { request: 'Requests that send {subject} without the properties it now depends on will be rejected.', response: FINE.response },
    oasdiff: BODY_AND_PROPERTY,
  },
  {
    kind: 'dependent-required-removed',
    level: { request: 'info', response: 'breaking' },
    description: '`dependentRequired` entry removed',
    consequence: { request: FINE.request, response: 'Clients that expect the properties {subject} used to bring along may not find them.' },
    oasdiff: BODY_AND_PROPERTY,
  },
  {
    kind: 'dependent-required-changed',
    level: { request: 'breaking', response: 'breaking' },
    description: '`dependentRequired` entry lists other properties',
    consequence: { request: 'Requests that send {subject} with only the properties it used to depend on may be rejected.', response: 'Clients that expect the properties {subject} used to bring along may not find them.' },
    oasdiff: BODY_AND_PROPERTY,
  },
  ...constraint('dependent-schema', 'dependentSchemas', 'sending one property imposes a schema on the object', 'sends the triggering property without meeting the rules that now come with it', 'without what used to come with the triggering property'),
  ...constraint('if', 'if', 'a condition selects `then` or `else`', 'falls under the new condition and does not meet what follows from it', 'without the conditional rules it used to follow'),
  ...constraint('then', 'then', 'a schema applies when `if` matches', 'meets the condition but not the rules that now follow from it', 'without the rules that used to apply when the condition held'),
  ...constraint('else', 'else', 'a schema applies when `if` does not match', 'does not meet the condition and breaks the new fallback rules', 'without the rules that used to apply when the condition failed'),
  {
    kind: 'not-added',
    level: { request: 'warning', response: 'info' },
    description: '`not` added: values matching its schema are refused',
    consequence: { request: 'Requests whose {subject} has a newly forbidden value will be rejected.', response: FINE.response },
    oasdiff: [],
    differs: NOT_CHECKED,
  },
  {
    kind: 'not-removed',
    level: { request: 'info', response: 'warning' },
    description: '`not` removed: values it refused are allowed',
    consequence: { request: FINE.request, response: 'Clients may receive {subject} values that used to be forbidden.' },
    oasdiff: [],
    differs: NOT_CHECKED,
  },
  {
    kind: 'not-changed',
    level: { request: 'warning', response: 'warning' },
    description: 'The schema inside `not` changed (its meaning is inverted, so it is reported once for review)',
    consequence: { request: 'Requests whose {subject} has a value that is now forbidden may be rejected.', response: 'Clients may receive {subject} values that used to be forbidden.' },
    oasdiff: [],
    differs: NOT_CHECKED,
  },
  ...unevaluated('items'),
  ...unevaluated('properties'),
  ...constraint('content-schema', 'contentSchema', 'the encoded content of a string must match a schema', 'carries embedded content that does not fit the new rules', 'with embedded content of any form'),
  {
    kind: 'content-media-type-changed',
    level: { request: 'breaking', response: 'breaking' },
    description: '`contentMediaType` added, removed or changed',
    consequence: { request: 'Requests whose {subject} carries content of the old media type may be rejected.', response: 'Clients that decode {subject} as the old media type will misread it.' },
    oasdiff: BODY_AND_PROPERTY,
  },
  {
    kind: 'content-encoding-changed',
    level: { request: 'breaking', response: 'breaking' },
    description: '`contentEncoding` added, removed or changed',
    consequence: { request: 'Requests whose {subject} is encoded the old way may be rejected.', response: 'Clients that decode {subject} the old way will misread it.' },
    oasdiff: BODY_AND_PROPERTY,
  },
];

const BY_KIND = new Map(KINDS_2020.map((k) => [k.kind, k]));

/** The default level of a kind of src/diff/schema-2020.ts seen from one direction. */
export function level2020(kind: string, direction: Direction): Level {
  const k = BY_KIND.get(kind);
  if (!k) throw new Error(`schema-2020 kind ${kind} has no row in src/diff/rules/schema-2020.ts`);
  return k.level[direction];
}

const WHERE: Record<Target, string> = { body: 'bodies', property: 'properties', parameter: 'parameters', header: 'headers' };

/** The rows of one kind at every target of both directions. */
function rows(k: Kind2020): RuleSpec[] {
  return (['request', 'response'] as const).flatMap((direction) =>
    TARGETS[direction].map((target): RuleSpec => {
      const id = `${direction}-${target}-${k.kind}`;
      const inOasdiff = k.oasdiff.includes(target);
      const differs = inOasdiff
        ? k.differs
        : k.oasdiff.length > 0
          ? `oasdiff checks this only in ${new Intl.ListFormat('en').format(k.oasdiff.map((t) => WHERE[t]))}; Accord applies the same level to ${WHERE[target]}, which the keyword constrains the same way.`
          : k.differs;
      return {
        id,
        level: k.level[direction],
        direction,
        description: `${k.description} (${direction} ${target}).`,
        consequence: k.consequence[direction],
        oasdiff: inOasdiff ? [id] : [],
        ...(differs ? { differs } : {}),
      };
    }),
  );
}

/** Rules for JSON Schema 2020-12 keywords of OpenAPI 3.1 documents (src/diff/schema-2020.ts). */
export const SCHEMA_2020_RULES: RuleSpec[] = KINDS_2020.flatMap(rows);
