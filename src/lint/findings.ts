/**
 * The shape of a style-rule finding, apart from the engine (which loads Spectral): the API's
 * schemas, the gate and the CLI's output use it without loading the linter.
 */

export const LINT_SEVERITIES = ['error', 'warning', 'info', 'hint'] as const;
/** error, warning, info or hint (Spectral 0–3). */
export type LintSeverity = (typeof LINT_SEVERITIES)[number];

/** One finding: rule, severity, message, JSON pointer, and 1-based line/column range in the linted text. */
export interface LintFinding {
  rule: string;
  severity: LintSeverity;
  message: string;
  location: string;
  line: number;
  column: number;
  endLine: number;
  endColumn: number;
}

/** What the gate's `lint` rule decides on (stored with each decision). */
export interface LintFacts {
  ruleset: string;
  olderVersion: boolean;
  errors: number;
  /** The first error-level findings (at most 20). */
  findings: Array<{ rule: string; location: string; line: number; column: number; message: string }>;
  warnings: number;
  warningRules: string[];
}

/** One problem with a ruleset document: rule id, JSON pointer into the ruleset, message. */
export interface RulesetFinding {
  rule: string;
  location: string;
  message: string;
}

/** Thrown when a ruleset document cannot be used; carries every finding. */
export class RulesetError extends Error {
  readonly findings: RulesetFinding[];
  constructor(findings: RulesetFinding[]) {
    super(`The ruleset fails ${findings.length} check${findings.length === 1 ? '' : 's'}: ${findings.map((f) => `${f.location || '/'} ${f.message}`).join('; ')}`);
    this.name = 'RulesetError';
    this.findings = findings;
  }
}

/** A ruleset as data: what identifies it (`key`, the content's sha256), what reports call it, and its parsed document. */
export interface RulesetSource {
  key: string;
  name: string;
  data: unknown;
}

/** spectral:oas with its recommended rules: what applies while the network stores no ruleset. */
export const DEFAULT_RULESET: RulesetSource = { key: 'spectral:oas', name: 'spectral:oas', data: { extends: [['spectral:oas', 'recommended']] } };
