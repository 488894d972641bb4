import { RULES } from './index.ts';
import { UNMAPPED } from './unmapped.ts';
import type { RuleSpec } from './types.ts';
import type { Level } from '../types.ts';

/** One oasdiff check as its catalogue lists it (../shared/corpus/diff/oasdiff-checks.tsv). */
export interface OasdiffCheck {
  id: string;
  level: Level;
  direction: string;
  location: string;
  action: string;
}

const OASDIFF_LEVEL: Record<string, Level> = { ERR: 'breaking', WARN: 'warning', INFO: 'info' };

/** Parses oasdiff's check catalogue (tab-separated: level, direction, location, action, check_id). */
export function parseOasdiffChecks(tsv: string): OasdiffCheck[] {
  return tsv
    .split('\n')
    .slice(1)
    .filter((line) => line.trim() !== '')
    .map((line) => {
      const [level, direction, location, action, id] = line.split('\t').map((s) => s.trim());
      return { id: id!, level: OASDIFF_LEVEL[level!]!, direction: direction!, location: location!, action: action! };
    });
}

/** Where Accord stands on one oasdiff check: the rules implementing it, or why there are none. */
export interface Coverage {
  check: OasdiffCheck;
  rules: RuleSpec[];
  reason: string | undefined;
}

/** For every oasdiff check, the Accord rules that implement it or the written reason it has none. */
export function coverage(checks: OasdiffCheck[]): Coverage[] {
  const byOasdiff = new Map<string, RuleSpec[]>();
  for (const rule of RULES) for (const id of rule.oasdiff) byOasdiff.set(id, [...(byOasdiff.get(id) ?? []), rule]);
  const reasons = new Map(UNMAPPED.map((u) => [u.oasdiff, u.reason]));
  return checks.map((check) => ({ check, rules: byOasdiff.get(check.id) ?? [], reason: reasons.get(check.id) }));
}

const cell = (text: string) => text.replace(/\|/g, '\\|').replace(/\n/g, ' ');
const code = (id: string) => `\`${id}\``;

/**
 * docs/diff-rules.md: every Accord rule, then every oasdiff check with the Accord rule that
 * implements it or the reason Accord differs. Generated (`npm run docs`); a test fails when the
 * committed file and the tables disagree.
 */
export function renderRulesDoc(checks: OasdiffCheck[]): string {
  const cov = coverage(checks);
  const same = cov.filter((c) => c.rules.some((r) => r.id === c.check.id)).length;
  const other = cov.filter((c) => c.rules.length > 0 && !c.rules.some((r) => r.id === c.check.id)).length;
  const reasoned = cov.filter((c) => c.rules.length === 0 && c.reason !== undefined).length;
  const levelDiffers = cov.filter((c) => c.rules.length > 0 && c.rules.every((r) => r.level !== c.check.level)).length;
  const out = [
    '# Contract diff rules',
    '',
    '<!-- Generated from src/diff/rules by `npm run docs`; do not edit by hand (test/diff/rules-doc.test.ts fails when they disagree). -->',
    '',
    'Every finding of `accord diff`, `POST /v1/diff`, registration and change requests has one of the rule ids below, a',
    'level (**breaking**, **warning**: needs review, **info**) and a direction (what clients send, or what they receive).',
    "The levels are the defaults; the governance policy may set another level for any rule (`policy.yaml` `diff.levels`,",
    'keyed by rule id or a former id). An operation marked `x-stability-level: draft` or `alpha` reports breaking',
    'findings as info, as oasdiff does.',
    '',
    `Accord has ${RULES.length} rules. Of oasdiff's ${checks.length} checks, ${same} have an Accord rule of the same id, ${other} are`,
    `covered by a rule of another id, and ${reasoned} have a written reason why Accord has none; ${levelDiffers} are covered at another level`,
    '(see the reasons in the oasdiff table).',
    '',
    '## Accord rules',
    '',
    '| Rule | Level | Direction | What it detects | What it means for a partner | oasdiff | Former ids |',
    '| --- | --- | --- | --- | --- | --- | --- |',
    ...RULES.map((r) => `| ${code(r.id)} | ${r.level} | ${r.direction} | ${cell(r.description)} | ${cell(r.consequence.replace(/\{subject\}/g, '*…*'))} | ${r.oasdiff.map(code).join(', ') || '— (Accord only)'} | ${(r.aliases ?? []).map(code).join(', ')} |`),
    '',
    '## Where Accord differs from oasdiff',
    '',
    '| Rule | Accord level | Why |',
    '| --- | --- | --- |',
    ...RULES.filter((r) => r.differs).map((r) => `| ${code(r.id)} | ${r.level} | ${cell(r.differs!)} |`),
    '',
    "## oasdiff's checks",
    '',
    '| oasdiff check | oasdiff level | Area | Accord rule | Accord level | Note |',
    '| --- | --- | --- | --- | --- | --- |',
    ...cov.map(({ check, rules, reason }) => {
      const levels = [...new Set(rules.map((r) => r.level))].join(', ');
      const note = rules.length === 0 ? (reason ?? 'not implemented') : rules.filter((r) => r.level !== check.level && r.differs).map((r) => r.differs!).join(' ') || (reason ?? '');
      return `| ${code(check.id)} | ${check.level} | ${check.direction} ${check.location} | ${rules.map((r) => code(r.id)).join(', ') || '—'} | ${levels || '—'} | ${cell(note)} |`;
    }),
    '',
  ];
  return out.join('\n');
}
