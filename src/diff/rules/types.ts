import type { Direction, Level } from '../types.ts';

/**
 * One rule of Accord's contract diff: the single place its id, default level, meaning and
 * consequence for partners are written. docs/diff-rules.md is generated from these tables.
 */
export interface RuleSpec {
  /** Stable id; the same as oasdiff's where the meaning is the same. */
  id: string;
  /** Accord's default level (the policy may override it: policy.yaml `diff.levels`). */
  level: Level;
  /** Who is affected: what clients send, or what they receive. */
  direction: Direction;
  /** What the rule detects, one line (docs). */
  description: string;
  /**
   * One plain-language sentence for a partner, no OpenAPI knowledge needed. `{subject}` is
   * replaced by the finding's subject (a property, parameter, header, media type, status…).
   */
  consequence: string;
  /** The oasdiff check ids this rule implements (empty for checks oasdiff does not have). */
  oasdiff: string[];
  /** Former ids of this rule: stored diffs and policy keys that use them keep working. */
  aliases?: string[];
  /** Why Accord's default level differs from oasdiff's, where it does. */
  differs?: string;
}

/** An oasdiff check Accord has no rule for, and why. */
export interface Unmapped {
  oasdiff: string;
  reason: string;
}
