import { Document, Spectral, type ISpectralDiagnostic, type Ruleset } from '@stoplight/spectral-core';
import Parsers from '@stoplight/spectral-parsers';
import { Resolver } from '@stoplight/spectral-ref-resolver';
import { LintCache, lintCacheKey, withSeverities } from './cache.ts';
import { LINT_SEVERITIES, type LintFinding } from './findings.ts';
import { lintContext } from './functions.ts';
import type { CompiledRuleset } from './ruleset.ts';

/**
 * Runs Spectral over one document: offline (external `$ref`s are findings, never fetched or
 * read), with Spectral's own positions made 1-based, and results cached by content.
 */

/** What to lint and how. */
export interface LintInput {
  /** The text, or for a stored version its sha256 and a loader (read only when the result is not cached). */
  text: string | { sha256: string; load: () => Promise<string> };
  format: 'yaml' | 'json';
  /** The document's name in Spectral (and the base it would resolve relative `$ref`s from; they are refused). */
  source: string;
  ruleset: CompiledRuleset;
  /** operationIds covered by control-matrix flows (the Idempotency-Key rule reads them). */
  coveredOperationIds?: ReadonlySet<string>;
  /**
   * Report error-level findings as warnings: an older version of an API, which keeps loading
   * under rules it predates (ADR 0017).
   */
  errorsAsWarnings?: boolean;
  /** Throw when Spectral itself fails, instead of answering a `lint-engine` warning (checking a ruleset). */
  throwOnEngineFailure?: boolean;
}

const refuse = (scheme: string) => ({
  resolve(uri: { toString(): string }): Promise<string> {
    return Promise.reject(new Error(`external $ref refused (${scheme}): ${uri.toString()}; Accord never fetches or reads referenced documents`));
  },
});

/** Spectral's resolver with every reader that would do I/O replaced by a refusal. */
const offlineResolver = new Resolver({ resolvers: { http: refuse('http'), https: refuse('https'), file: refuse('file') } });

// One Spectral instance per built ruleset, reused by every run (setRuleset per run would race
// between concurrent runs on a shared instance).
const instances = new WeakMap<Ruleset, Spectral>();

function spectralFor(ruleset: Ruleset): Spectral {
  let spectral = instances.get(ruleset);
  if (!spectral) {
    spectral = new Spectral({ resolver: offlineResolver });
    spectral.setRuleset(ruleset);
    instances.set(ruleset, spectral);
  }
  return spectral;
}

const escape = (segment: string | number) => String(segment).replace(/~/g, '~0').replace(/\//g, '~1');

function toFinding(d: ISpectralDiagnostic): LintFinding {
  // Spectral calls a document that is not OpenAPI a warning; for a contract registry it is an error.
  const severity = d.code === 'unrecognized-format' ? 'error' : (LINT_SEVERITIES[d.severity] ?? 'error');
  return {
    rule: String(d.code),
    severity,
    message: d.message,
    location: d.path.map((s) => `/${escape(s)}`).join(''),
    line: d.range.start.line + 1,
    column: d.range.start.character + 1,
    endLine: d.range.end.line + 1,
    endColumn: d.range.end.character + 1,
  };
}

function engineFailure(error: unknown): LintFinding {
  const message = `The style rules could not run on this document, so it was not linted (Spectral failed: ${(error as Error).message ?? String(error)})`;
  return { rule: 'lint-engine', severity: 'warning', message, location: '', line: 1, column: 1, endLine: 1, endColumn: 1 };
}

const byPosition = (a: LintFinding, b: LintFinding) => a.line - b.line || a.column - b.column || a.rule.localeCompare(b.rule) || a.location.localeCompare(b.location);

const results = new LintCache();

/** How many lint runs were not answered from the cache (for tests and the benchmark). */
export const lintRuns = { count: 0 };

/**
 * Lints a document with a built ruleset; findings sorted by position. Parser errors (bad YAML,
 * duplicate keys) and refused external `$ref`s (`invalid-ref`) are error findings like any other.
 */
export async function lintDocument(input: LintInput): Promise<LintFinding[]> {
  const key = lintCacheKey({ content: typeof input.text === 'string' ? input.text : { sha256: input.text.sha256 }, format: input.format, source: input.source, rulesetKey: input.ruleset.key, coveredOperationIds: input.coveredOperationIds });
  let findings = results.get(key);
  if (!findings) {
    const spectral = spectralFor(input.ruleset.ruleset);
    const text = typeof input.text === 'string' ? input.text : await input.text.load();
    const document = input.format === 'json' ? new Document(text, Parsers.Json, input.source) : new Document(text, Parsers.Yaml, input.source);
    let diagnostics: ISpectralDiagnostic[] | undefined;
    try {
      diagnostics = await lintContext.run({ coveredOperationIds: input.coveredOperationIds ?? new Set() }, () => spectral.run(document));
    } catch (error) {
      if (input.throwOnEngineFailure) throw error;
      // Spectral cannot process some valid documents (an object key named hasOwnProperty breaks
      // its $ref crawler): say the document was not linted rather than refuse it for that.
      findings = [engineFailure(error)];
    }
    lintRuns.count++;
    findings ??= diagnostics!.map(toFinding).sort(byPosition);
    results.set(key, findings);
  }
  return withSeverities(findings, input.errorsAsWarnings);
}

/** Rule descriptions of a built ruleset (for SARIF's rule list). */
export function ruleDescriptions(ruleset: CompiledRuleset): Record<string, string> {
  return Object.fromEntries(Object.entries(ruleset.ruleset.rules).map(([id, rule]) => [id, rule.description ?? id]));
}
