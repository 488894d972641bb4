import { groupByOperation } from './by-operation.ts';
import { consequenceOf, type RuleLookup } from './consequence.ts';
import { changeLocator, pointerOf, type DiffArtifacts } from './lines.ts';
import { ruleOf } from './rules/index.ts';
import type { DiffResult, Level } from './types.ts';

/**
 * SARIF 2.1.0 from a diff, written by hand (the shape code-scanning tools read): one run of
 * `accord-diff`, the rules that fired with their table descriptions and default levels, and each
 * finding once as a result on the line of the document where the change is (the revision, or the
 * base for what the revision removed), its operations as logical locations.
 */

const LEVEL: Record<Level, 'error' | 'warning' | 'note'> = { breaking: 'error', warning: 'warning', info: 'note' };

/** What the SARIF needs besides the result: the compared documents and Accord's version. */
export interface SarifOptions {
  artifacts?: DiffArtifacts;
  toolVersion?: string;
  /** Where consequences come from: the rule table unless a test injects its own. */
  lookup?: RuleLookup;
}

/** A SARIF 2.1.0 log of a diff (see the file's comment). */
export function toSarif(result: DiffResult, options: SarifOptions = {}): Record<string, unknown> {
  const artifacts = options.artifacts ?? {};
  const locate = changeLocator(artifacts);
  const sides = (['revision', 'base'] as const).filter((s) => artifacts[s] !== undefined);
  const findings = groupByOperation(result.changes).flatMap((g) => g.findings.map((f) => ({ group: g, finding: f })));
  const rules = [...new Set(findings.map((x) => x.finding.change.rule))].sort();
  return {
    $schema: 'https://json.schemastore.org/sarif-2.1.0.json',
    version: '2.1.0',
    runs: [
      {
        tool: {
          driver: {
            name: 'accord-diff',
            ...(options.toolVersion ? { version: options.toolVersion } : {}),
            rules: rules.map((id) => {
              const spec = ruleOf(id);
              return {
                id,
                shortDescription: { text: spec?.description ?? id },
                ...(spec ? { fullDescription: { text: spec.consequence.replace(/\{subject\}/g, 'it') }, defaultConfiguration: { level: LEVEL[spec.level] } } : {}),
                ...(spec?.oasdiff.length ? { properties: { oasdiff: spec.oasdiff } } : {}),
              };
            }),
          },
        },
        artifacts: sides.map((s) => ({ location: { uri: artifacts[s]!.uri }, roles: [s === 'revision' ? 'analysisTarget' : 'referencedOnCommandLine'] })),
        results: findings.map(({ group, finding }) => {
          const c = finding.change;
          const site = locate(c);
          const physical = site
            ? {
                physicalLocation: {
                  artifactLocation: { uri: site.artifact.uri, index: sides.indexOf(site.side) },
                  ...(site.position ? { region: { startLine: site.position.line, startColumn: site.position.column } } : {}),
                },
              }
            : {};
          const logical = [
            ...finding.operations.map((op) => ({ fullyQualifiedName: op, kind: 'function' })),
            { fullyQualifiedName: pointerOf(c) || '/', kind: 'member' },
          ];
          return {
            ruleId: c.rule,
            ruleIndex: rules.indexOf(c.rule),
            level: LEVEL[c.level],
            message: { text: `${consequenceOf(c, options)} ${c.message}.` },
            locations: [{ ...physical, logicalLocations: logical }],
            properties: {
              level: c.level,
              direction: c.direction,
              pointer: c.location,
              side: site?.side ?? 'revision',
              ...(finding.operations.length ? { operations: finding.operations } : {}),
              ...(group.kind === 'operation' && group.summary ? { summary: group.summary } : {}),
              ...(c.subject ? { subject: c.subject } : {}),
            },
          };
        }),
        properties: { verdict: result.summary.breaking > 0 ? 'breaking' : 'compatible', bump: result.bump, summary: result.summary },
      },
    ],
  };
}
