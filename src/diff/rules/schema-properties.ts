import type { RuleSpec } from './types.ts';
import { CATALOGUE_ONLY, catalogueLevel, family, rule } from './schema-table.ts';

const WITH_DEFAULT = catalogueLevel('it as INFO');

/** Properties added, removed, made required or optional, in requests and responses. */
const EXISTENCE: RuleSpec[] = [
  rule('new-required-request-property', 'breaking', 'Required property added to a request', 'Clients that do not send {subject} will be refused.', { aliases: ['request-required-property-added'] }),
  rule('new-required-request-property-with-default', 'breaking', 'Required property with a default value added to a request', 'Clients that do not send {subject} will be refused: a default does not make a required property optional.', { differs: WITH_DEFAULT }),
  rule('new-optional-request-property', 'info', 'Optional property added to a request', 'Clients may send {subject}; existing clients keep working.', { aliases: ['request-property-added'] }),
  rule('request-property-removed', 'warning', 'Property removed from a request', 'Clients that still send {subject} may have it ignored or be refused: check with consumers before release.'),
  rule('request-property-became-required', 'breaking', 'Request property became required', 'Clients that do not send {subject} will be refused.'),
  rule('request-property-became-required-with-default', 'breaking', 'Request property with a default value became required', 'Clients that do not send {subject} will be refused: a default does not make a required property optional.', { differs: WITH_DEFAULT }),
  rule('request-property-became-optional', 'info', 'Request property became optional', 'Clients may stop sending {subject}; existing clients keep working.'),
  rule('new-required-request-header-property', 'breaking', 'Required property added inside a request header’s value', 'Clients that do not send {subject} in the header will be refused.'),
  rule('request-header-property-became-required', 'breaking', 'A property inside a request header’s value became required', 'Clients that do not send {subject} in the header will be refused.'),
  rule('response-optional-property-added', 'info', 'Optional property added to a response', 'Clients may receive {subject}; clients that ignore what they do not know are unaffected.', { aliases: ['response-property-added'] }),
  rule('response-required-property-added', 'info', 'Required property added to a response', 'Clients will receive {subject}; clients that ignore what they do not know are unaffected.'),
  rule('response-optional-property-removed', 'warning', 'Optional property removed from a response', 'Clients that read {subject} will no longer find it; it was optional, so they should already cope with its absence.', { aliases: ['response-property-removed'] }),
  rule('response-required-property-removed', 'breaking', 'Required property removed from a response', 'Clients that read {subject} will no longer find it.'),
  rule('response-property-became-optional', 'breaking', 'Response property became optional', 'Clients that expect {subject} to always be there may fail when it is absent.'),
  rule('response-property-became-required', 'info', 'Response property became required', 'Clients will always receive {subject}; existing clients keep working.'),
  ...(['added', 'removed'] as const).flatMap((change) =>
    (['optional', 'required'] as const).map((scope) =>
      rule(`response-${scope}-write-only-property-${change}`, 'info', `${scope === 'optional' ? 'Optional' : 'Required'} write-only property ${change} (responses never carry it)`, 'Responses do not carry {subject} (it is write-only); nothing changes for clients reading them.'),
    ),
  ),
  ...(['optional', 'required'] as const).map((requiredness) =>
    rule(`response-write-only-property-became-${requiredness}`, 'info', `Write-only response property became ${requiredness}`, 'Responses do not carry {subject} (it is write-only); nothing changes for clients reading them.'),
  ),
];

/** readOnly / writeOnly added or removed on a property that stays. */
const ACCESS: RuleSpec[] = (['request', 'response'] as const).flatMap((direction) =>
  (['optional', 'required'] as const).flatMap((scope) =>
    (['read-only', 'not-read-only', 'write-only', 'not-write-only'] as const).map((access) => {
      const id = `${direction}-${scope}-property-became-${access}`;
      const warn = id === 'response-required-property-became-not-write-only';
      const text =
        direction === 'request'
          ? access === 'read-only'
            ? 'Clients no longer need to send {subject}: the server sets it.'
            : access === 'not-read-only'
              ? 'Clients may now send {subject}.'
              : access === 'write-only'
                ? 'Clients still send {subject}; it will no longer be returned to them.'
                : 'Clients still send {subject}; it may now be returned to them.'
          : access === 'read-only' || access === 'not-write-only'
            ? warn
              ? 'Clients will now receive {subject} in responses, which was never returned before: check they cope with it.'
              : 'Clients may now receive {subject} in responses.'
            : access === 'write-only'
              ? 'Clients will no longer receive {subject} in responses.'
              : 'Clients may still receive {subject}; they may now also send it.';
      return rule(id, warn ? 'warning' : 'info', `${scope === 'optional' ? 'Optional' : 'Required'} ${direction} property became ${access.replace('not-', 'not ')}`, text);
    }),
  ),
);

/** Deprecation, sunset and stability of properties (x-sunset, x-stability-level). */
const LIFECYCLE: RuleSpec[] = [
  ...family('deprecated', { 'request-property': 'info', 'response-property': 'info' }, { what: 'Property deprecated', request: 'Clients that send {subject} keep working for now; they should stop sending it.', response: 'Clients that read {subject} keep working for now; they should stop relying on it.' }),
  ...family('deprecated-with-sunset', { 'request-property': 'info', 'response-property': 'info' }, { what: 'Property deprecated with a sunset date', request: 'Clients that send {subject} must stop before its sunset date.', response: 'Clients that read {subject} must stop relying on it before its sunset date.' }),
  ...family(
    'deprecated-sunset-missing',
    { 'request-property': 'breaking', 'response-property': 'breaking' },
    { what: 'Property deprecated without a sunset date where the policy requires one', request: 'Clients that send {subject} are not told when it goes away.', response: 'Clients that read {subject} are not told when it goes away.' },
    { differs: { 'request-property': 'Reported only when policy.yaml requires a sunset with every deprecation, as oasdiff does with its option.', 'response-property': 'Reported only when policy.yaml requires a sunset with every deprecation, as oasdiff does with its option.' } },
  ),
  ...family('deprecated-sunset-invalid', { 'request-property': 'breaking', 'response-property': 'breaking' }, { what: 'Property deprecated with an x-sunset that is not a date (RFC 3339)', request: 'Clients that send {subject} cannot tell when it goes away.', response: 'Clients that read {subject} cannot tell when it goes away.' }),
  ...family('sunset-date-too-small', { 'request-property': 'breaking', 'response-property': 'breaking' }, { what: 'Property deprecated with a sunset date already past', request: 'Clients that send {subject} get no notice period before it goes away.', response: 'Clients that read {subject} get no notice period before it goes away.' }),
  ...family('reactivated', { 'request-property': 'info', 'response-property': 'info' }, { what: 'Property no longer deprecated', request: 'Clients may keep sending {subject}.', response: 'Clients may keep relying on {subject}.' }),
  ...family(
    'stability-decreased',
    { 'request-property': 'breaking', 'response-property': 'breaking' },
    { what: 'Property x-stability-level lowered (stable → beta → alpha → draft)', request: 'Clients can no longer rely on {subject} staying as it is.', response: 'Clients can no longer rely on {subject} staying as it is.' },
    { differs: { 'request-property': CATALOGUE_ONLY, 'response-property': CATALOGUE_ONLY } },
  ),
  ...family(
    'stability-increased',
    { 'request-property': 'info', 'response-property': 'info' },
    { what: 'Property x-stability-level raised', request: 'Clients can rely on {subject} more than before.', response: 'Clients can rely on {subject} more than before.' },
    { differs: { 'request-property': CATALOGUE_ONLY, 'response-property': CATALOGUE_ONLY } },
  ),
];

/** Rules about one property of an object schema: existence, requiredness, access, lifecycle. */
export const SCHEMA_PROPERTY_RULES: RuleSpec[] = [...EXISTENCE, ...ACCESS, ...LIFECYCLE];
