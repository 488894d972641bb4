import type { Change, Level } from '../types.ts';
import { OPERATION_RULES } from './operations.ts';
import { SCHEMA_2020_RULES } from './schema-2020.ts';
import { SCHEMA_RULES } from './schema.ts';
import type { RuleSpec } from './types.ts';

export type { RuleSpec, Unmapped } from './types.ts';

/** Every rule of the contract diff, in docs order. */
export const RULES: RuleSpec[] = [...OPERATION_RULES, ...SCHEMA_RULES, ...SCHEMA_2020_RULES];

const BY_ID = new Map<string, RuleSpec>();
for (const rule of RULES) {
  for (const id of [rule.id, ...(rule.aliases ?? [])]) {
    if (BY_ID.has(id)) throw new Error(`diff rule id ${id} is defined twice`);
    BY_ID.set(id, rule);
  }
}

/** The rule an id (or a former id, an alias) names, or undefined. */
export function ruleOf(id: string): RuleSpec | undefined {
  return BY_ID.get(id);
}

/** The current id of a rule id that may be a former one (stored diffs, policy keys). */
export function canonicalRule(id: string): string {
  return BY_ID.get(id)?.id ?? id;
}

/** A rule's default level; an id missing from the table is a programming error. */
export function levelOf(id: string): Level {
  const rule = BY_ID.get(id);
  if (!rule) throw new Error(`diff rule ${id} is not in the rule table (src/diff/rules)`);
  return rule.level;
}

/**
 * The policy's level overrides (policy.yaml `diff.levels`, keyed by rule id or a former id)
 * applied to findings.
 */
export function applyLevels(changes: Change[], levels: Record<string, Level> | undefined): Change[] {
  if (!levels || Object.keys(levels).length === 0) return changes;
  const byRule = new Map(Object.entries(levels).map(([id, level]) => [canonicalRule(id), level]));
  return changes.map((c) => {
    const level = byRule.get(canonicalRule(c.rule));
    return level && level !== c.level ? { ...c, level } : c;
  });
}
