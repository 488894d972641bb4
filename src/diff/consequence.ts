import { ruleOf, type RuleSpec } from './rules/index.ts';
import type { Change, Direction, Level } from './types.ts';

/** A rule family: the rule ids it covers (optionally at one level only) and what that means for partners. */
interface Family {
  rule: RegExp;
  level?: Level;
  text: string;
}

/**
 * The rule families of Accord's diff (src/diff/contract-diff.ts and schema-diff.ts; schema rules
 * arrive as `<direction>-<target>-<kind>`), most specific first. The first match wins.
 */
const FAMILIES: Family[] = [
  { rule: /^openapi-diff\//, text: 'A second diff tool flagged this and Accord’s rules do not classify it: a reviewer should confirm whether clients are affected.' },
  { rule: /^api-(path|operation)-removed-without-deprecation$|^api-removed-before-sunset$/, level: 'breaking', text: 'Clients that call this operation will get an error (404 or 405): they must move off it before this version is released.' },
  { rule: /^api-(path|operation)-removed/, text: 'The operation was deprecated or unstable; clients should already have moved off it.' },
  { rule: /^api-operation-added$/, text: 'A new operation: existing clients are unaffected; clients can start using it.' },
  { rule: /^api-stability-decreased$|^api-invalid-stability-level$/, text: 'Clients can no longer rely on this operation staying as it is.' },
  { rule: /^endpoint-deprecated$/, text: 'Clients keep working for now; they should plan to move before the sunset.' },
  { rule: /^endpoint-reactivated$/, text: 'Clients may keep using this operation.' },
  { rule: /security/, level: 'breaking', text: 'Clients without the new credentials will be refused (401 or 403).' },
  { rule: /security/, level: 'warning', text: 'Clients may need different credentials; check with consumers before release.' },
  { rule: /^api-servers-changed$/, text: 'Clients configured with the old server address may stop reaching the API.' },
  { rule: /^webhook-removed$/, text: 'Partners that rely on this webhook will stop receiving it.' },
  { rule: /^new-required-request-parameter$|^request-parameter-became-required$/, text: 'Clients that do not send this parameter will be refused.' },
  { rule: /^request-parameter-removed$/, level: 'breaking', text: 'Clients that send this parameter will have it ignored or be refused.' },
  { rule: /^request-body-(removed|media-type-removed)$/, level: 'breaking', text: 'Clients that send this body will be refused.' },
  { rule: /^request-body-(added-required|became-required)$/, level: 'breaking', text: 'Clients that send no body will be refused.' },
  { rule: /^response-success-status-removed$/, level: 'breaking', text: 'Clients waiting for this success status will misread the outcome of their call.' },
  { rule: /^response-media-type-removed$/, level: 'breaking', text: 'Clients that ask for this media type will not get it.' },
  { rule: /^required-response-header-removed$|^response-header-became-optional$/, level: 'breaking', text: 'Clients that read this response header may not find it.' },
  { rule: /^request-.*(required-property-added|property-became-required)$/, level: 'breaking', text: 'Clients that do not send this property will be refused.' },
  { rule: /^response-.*property-removed$/, level: 'breaking', text: 'Clients that read this property will no longer find it.' },
  { rule: /^response-.*property-became-optional$/, level: 'breaking', text: 'Clients that expect this property to always be there may fail when it is absent.' },
  { rule: /^response-.*(enum-value-added|one-of-alternative-added|any-of-alternative-added|enum-removed)$/, level: 'breaking', text: 'Clients that only know the old values will receive one they do not expect.' },
  { rule: /^request-.*(enum-value-removed|became-enum)$/, level: 'breaking', text: 'Clients that send a value no longer allowed will be refused.' },
  { rule: /^request-.*(type-changed|became-not-nullable)$/, level: 'breaking', text: 'Clients that send the old type (or null) will be refused.' },
  { rule: /^response-.*(type-changed|became-nullable)$/, level: 'breaking', text: 'Clients will receive a type (or null) they may not parse.' },
  { rule: /^request-.*-(min|max|exclusive-min|exclusive-max|min-length|max-length|min-items|max-items|min-properties|max-properties)-(increased|decreased)$|^request-.*(pattern-added|multiple-of-changed|unique-items-changed)$/, level: 'breaking', text: 'Clients that send values outside the new limits will be refused.' },
  { rule: /^response-.*-(min|max|exclusive-min|exclusive-max|min-length|max-length|min-items|max-items|min-properties|max-properties)-(increased|decreased)$/, level: 'breaking', text: 'Clients may receive values outside the limits they check against.' },
  { rule: /additional-properties-disallowed$/, level: 'breaking', text: 'Clients that send extra properties will be refused.' },
];

const FALLBACK: Record<Level, Record<Direction, string>> = {
  breaking: {
    request: 'Clients that send the old shape will be refused.',
    response: 'Clients that read this will miss or misread it.',
  },
  warning: {
    request: 'Some clients’ requests may be handled differently: check with consumers before release.',
    response: 'Some clients may misread responses: check with consumers before release.',
  },
  info: {
    request: 'Existing clients keep working; clients can use what is new.',
    response: 'Existing clients keep working; clients that ignore what they do not know are unaffected.',
  },
};

/** Finds a rule by id (the rule table by default; tests inject their own). */
export type RuleLookup = (id: string) => Pick<RuleSpec, 'consequence'> | undefined;

/** A consequence split into plain text and the subject it names, for renderers that mark the subject up. */
export interface ConsequencePart {
  text: string;
  /** True for the finding's subject (a property, parameter, header…): inline code in Markdown. */
  subject?: true;
}

const SUBJECT = /\{subject\}/g;

/**
 * The sentence for a finding, in parts: the rule table's `consequence` with `{subject}` filled
 * from the finding's `subject`; for rules not in the table (openapi-diff/…, matrix rules) or a
 * finding without the subject its sentence needs, the sentence of its family or of its level and
 * direction.
 */
export function consequenceParts(change: Pick<Change, 'rule' | 'level' | 'direction' | 'subject'>, lookup: RuleLookup = ruleOf): ConsequencePart[] {
  const sentence = lookup(change.rule)?.consequence?.trim();
  if (sentence && (change.subject || !sentence.includes('{subject}'))) {
    const parts: ConsequencePart[] = [];
    let last = 0;
    for (const m of sentence.matchAll(SUBJECT)) {
      if (m.index > last) parts.push({ text: sentence.slice(last, m.index) });
      parts.push({ text: change.subject!, subject: true });
      last = m.index + m[0].length;
    }
    if (last < sentence.length) parts.push({ text: sentence.slice(last) });
    return parts;
  }
  return [{ text: familySentence(change) }];
}

/** `text` as Markdown inline code, fenced with more backticks than it contains. */
export function inlineCode(text: string): string {
  const longest = Math.max(0, ...[...text.matchAll(/`+/g)].map((m) => m[0].length));
  const fence = '`'.repeat(longest + 1);
  const pad = text.startsWith('`') || text.endsWith('`') ? ' ' : '';
  return `${fence}${pad}${text}${pad}${fence}`;
}

/**
 * What a finding means for the partners that call the API, in one plain-language sentence (see
 * consequenceParts). The subject is written as inline code (`status`) unless `code` says otherwise.
 */
export function consequenceOf(
  change: Pick<Change, 'rule' | 'level' | 'direction' | 'subject'>,
  options: { lookup?: RuleLookup; code?: (subject: string) => string; text?: (text: string) => string } = {},
): string {
  const { lookup = ruleOf, code = inlineCode, text = (t: string) => t } = options;
  return consequenceParts(change, lookup)
    .map((p) => (p.subject ? code(p.text) : text(p.text)))
    .join('');
}

/** The family or level sentence of a finding (rules the table does not know). */
function familySentence(change: Pick<Change, 'rule' | 'level' | 'direction'>): string {
  for (const f of FAMILIES) {
    if ((f.level === undefined || f.level === change.level) && f.rule.test(change.rule)) return f.text;
  }
  return FALLBACK[change.level][change.direction];
}
