import type { LintFinding, LintSeverity } from './findings.ts';

/**
 * SARIF 2.1.0 from lint findings, written by hand: the shape code-scanning tools read, with
 * artifact URIs as given (relative paths stay relative) and only the rules that fired.
 */

const LEVEL: Record<LintSeverity, 'error' | 'warning' | 'note'> = { error: 'error', warning: 'warning', info: 'note', hint: 'note' };

/** One linted file: its URI as it should appear in the report, and its findings. */
export interface SarifFile {
  uri: string;
  findings: LintFinding[];
}

/**
 * A SARIF 2.1.0 log with one run of `accord-lint`.
 * @param descriptions rule id → description, for the rules list (the id when absent)
 */
export function toSarif(files: SarifFile[], descriptions: Record<string, string>, toolVersion: string): Record<string, unknown> {
  const rules = [...new Set(files.flatMap((f) => f.findings.map((x) => x.rule)))].sort();
  return {
    $schema: 'https://json.schemastore.org/sarif-2.1.0.json',
    version: '2.1.0',
    runs: [
      {
        tool: {
          driver: {
            name: 'accord-lint',
            version: toolVersion,
            informationUri: 'https://docs.stoplight.io/docs/spectral',
            rules: rules.map((id) => ({ id, shortDescription: { text: descriptions[id] ?? id } })),
          },
        },
        artifacts: files.map((f) => ({ location: { uri: f.uri } })),
        results: files.flatMap((f, index) =>
          f.findings.map((x) => ({
            ruleId: x.rule,
            ruleIndex: rules.indexOf(x.rule),
            level: LEVEL[x.severity],
            message: { text: x.message },
            locations: [
              {
                physicalLocation: {
                  artifactLocation: { uri: f.uri, index },
                  region: { startLine: x.line, startColumn: x.column, endLine: x.endLine, endColumn: x.endColumn },
                },
                ...(x.location ? { logicalLocations: [{ fullyQualifiedName: x.location, kind: 'member' }] } : {}),
              },
            ],
          })),
        ),
      },
    ],
  };
}
