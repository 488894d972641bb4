import { ruleOf } from './rules/index.ts';
import type { SchemaFinding, SchemaNode } from './schema-node.ts';
import type { Direction } from './types.ts';

/** A schema an operation uses, where the comparison of its base and revision starts. */
export interface SchemaRoot {
  node: SchemaNode;
  /** Where the schema sits: a body's media type, a parameter, a response header. */
  target: 'body' | 'parameter' | 'header';
  /** What a partner calls the root, e.g. "request body application/json", "query parameter status": messages start with it. */
  subject: string;
  /** The body's media type: JSON values are strongly typed (1 is not "1"), text values are not. */
  media?: string;
  /** The parameter's location and whether it is required. */
  param?: { in: string; required: boolean };
}

/** Whether values of this media type are JSON, where a number is not a string. */
function stronglyTyped(media: string | undefined): boolean {
  return media === 'application/json' || (media !== undefined && media.startsWith('application/vnd.') && media.endsWith('+json'));
}

/** Roots whose findings get the same ids: a schema reached from several of them is reported once. */
export function schemaContext(root: SchemaRoot): string {
  return root.target === 'body' ? `body:${stronglyTyped(root.media)}` : root.target === 'parameter' ? `parameter:${root.param?.in}:${root.param?.required}` : root.target;
}

/** Ids oasdiff gives property checks inside a header parameter's value. */
const HEADER_PROPERTY: Record<string, string> = {
  'new-required-request-property': 'new-required-request-header-property',
  'new-required-request-property-with-default': 'new-required-request-header-property',
  'request-property-became-required': 'request-header-property-became-required',
  'request-property-became-required-with-default': 'request-header-property-became-required',
};

/**
 * The rule id of a schema finding seen from one root (undefined when the check does not
 * apply there: the rule table lists the positions each check applies to, as oasdiff does).
 * @param atRoot the finding is on the root schema itself, not below it
 */
export function schemaRuleId(direction: Direction, root: SchemaRoot, atRoot: boolean, finding: SchemaFinding): string | undefined {
  const target = atRoot ? root.target : root.target === 'body' ? 'property' : `${root.target}-property`;
  if (finding.id !== undefined) return known(root.target === 'body' ? finding.id : root.param?.in === 'header' ? HEADER_PROPERTY[finding.id] : undefined);
  let kind = finding.kind;
  // A parameter's own deprecation is the parameter's (lifecycle.ts), not its schema's.
  if (atRoot && root.target !== 'body' && /^(deprecated|reactivated|sunset|stability)/.test(kind)) return undefined;
  if (kind === 'type') {
    const change = finding.typeChange ?? { strong: true, loose: true, widened: false, narrowed: false };
    // Parameters and headers travel as text; a parameter property may be JSON or form style.
    const breaks = root.target === 'body' && stronglyTyped(root.media) ? change.strong : change.loose;
    if (target === 'parameter-property') kind = change.strong && change.loose ? 'type-specialized' : change.strong || change.loose ? 'type-changed' : 'type-generalized';
    else if (direction === 'request') kind = breaks ? 'type-changed' : change.widened || target === 'parameter' ? 'type-generalized' : 'type-compatible';
    else if (breaks) kind = change.widened ? 'type-generalized' : 'type-changed';
    else kind = change.narrowed ? 'type-specialized' : 'type-compatible';
  } else if (kind.startsWith('default-value-') && root.param?.required) return undefined;
  else if (kind === 'became-enum' && target === 'parameter-property' && root.param?.in === 'header') return known('request-header-property-became-enum');
  else if (kind === 'enum-value-removed' && direction === 'response' && target === 'body') return known('response-mediatype-enum-value-removed');
  return known(`${direction}-${target}-${kind}`);
}

/** The id if the rule table has a row for it (a former id, an alias, is not emitted). */
function known(id: string | undefined): string | undefined {
  return id !== undefined && ruleOf(id)?.id === id ? id : undefined;
}
