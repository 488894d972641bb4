import { createHash } from 'node:crypto';
import type { LintFinding } from './findings.ts';

/**
 * Lint results by (content sha256, ruleset key, covered operationIds, format, source name):
 * registering or gate-checking the same content again costs no second Spectral run (~100 ms
 * to seconds of CPU each). Spectral-free, so the main thread keeps it while the worker lints.
 */

/** What identifies a lint result. */
export interface LintCacheKey {
  /** The text, or the sha256 of a stored version's text. */
  content: string | { sha256: string };
  format: 'yaml' | 'json';
  source: string;
  rulesetKey: string;
  coveredOperationIds?: ReadonlySet<string> | undefined;
}

/** The cache key of an input. */
export function lintCacheKey(input: LintCacheKey): string {
  const covered = [...(input.coveredOperationIds ?? [])].sort().join(',');
  const content = typeof input.content === 'string' ? createHash('sha256').update(input.content).digest('hex') : input.content.sha256;
  return createHash('sha256').update(JSON.stringify([input.format, input.rulesetKey, covered, input.source, content])).digest('hex');
}

/** A bounded map of results, least recently used out first. */
export class LintCache {
  private readonly results = new Map<string, LintFinding[]>();

  constructor(private readonly kept = 256) {}

  /** The findings stored under `key`, if any (and marks them recently used). */
  get(key: string): LintFinding[] | undefined {
    const hit = this.results.get(key);
    if (hit) {
      this.results.delete(key);
      this.results.set(key, hit);
    }
    return hit;
  }

  /** Stores findings, evicting the least recently used beyond the bound. */
  set(key: string, findings: LintFinding[]): void {
    this.results.set(key, findings);
    if (this.results.size > this.kept) this.results.delete(this.results.keys().next().value!);
  }
}

/** Copies of the findings, errors reported as warnings when asked (an older version). */
export function withSeverities(findings: LintFinding[], errorsAsWarnings: boolean | undefined): LintFinding[] {
  return findings.map((f) => (errorsAsWarnings && f.severity === 'error' ? { ...f, severity: 'warning' as const } : { ...f }));
}
