import { and, desc, eq } from 'drizzle-orm';
import semver from 'semver';
import type { Principal } from '../auth/principal.ts';
import { parseText, type DocumentFormat } from '../contracts/document.ts';
import { contractPath, findVersion, type ContractVersionRow } from '../contracts/versions.ts';
import { contractVersions } from '../db/index.ts';
import type { Deps } from '../deps.ts';
import { AccordError } from '../errors.ts';
import type { FlowEntry } from '../matrix/checks.ts';
import { currentFlows, getMatrixDocument, latestMatrixRow, matrixPath, putMatrixDocument, type MatrixVersionView } from '../matrix/store.ts';
import { coveredOperationIds } from './coverage.ts';
import { DEFAULT_RULESET, RulesetError, type LintFacts, type LintFinding, type RulesetSource } from './findings.ts';
import { checkRulesetData, lint } from './pool.ts';

/**
 * Style rules in the registry: the network ruleset (stored like the policy, as the matrix
 * document `ruleset`), the ruleset in force, and linting a contract version with it — at
 * registration and for the gate.
 */

/** The matrix-store name of the network ruleset (file control-matrix/ruleset.yaml, tags control-matrix/ruleset/vN). */
export const RULESET_NAME = 'ruleset';

/** What a registration or the gate reports of a version's lint. */
export interface LintSummary {
  /** The ruleset used: `spectral:oas` (none registered) or `network ruleset v<N>`. */
  ruleset: string;
  /** Older than the newest registered version of its API: its errors are reported as warnings. */
  olderVersion: boolean;
  errors: number;
  /** Every finding below error level (warnings, info, hints), by position. */
  warnings: LintFinding[];
}

/** The ruleset in force: the latest stored network ruleset, else spectral:oas (recommended). */
export async function rulesetInForce(deps: Pick<Deps, 'db' | 'registry' | 'config'>): Promise<RulesetSource> {
  const row = await latestMatrixRow(deps, RULESET_NAME);
  if (!row || row.kind !== 'ruleset') return DEFAULT_RULESET;
  return { key: row.sha256, name: `network ruleset v${row.version}`, data: (await getMatrixDocument(deps, 'ruleset', RULESET_NAME, row.version)).entry };
}

/** The newest registered version of an API, if any. */
async function newestVersion(deps: Pick<Deps, 'db'>, partner: string, api: string): Promise<string | undefined> {
  const row = await deps.db
    .select({ version: contractVersions.version })
    .from(contractVersions)
    .where(and(eq(contractVersions.partner, partner), eq(contractVersions.api, api)))
    .orderBy(desc(contractVersions.versionKey))
    .limit(1)
    .get();
  return row?.version;
}

interface VersionText {
  partner: string;
  api: string;
  version: string;
  text: string | { sha256: string; load: () => Promise<string> };
  format: DocumentFormat;
  /** Report errors as warnings whatever the registered versions say (the seed import's older versions). */
  errorsAsWarnings?: boolean | undefined;
}

/**
 * Lints a contract version with the ruleset in force and the operations the current control
 * matrix covers for it. A version below the newest registered one of its API has its errors
 * reported as warnings (so has one marked `registered`: an identical re-registration is a no-op,
 * whatever the ruleset says today).
 */
export async function lintContractVersion(
  deps: Pick<Deps, 'db' | 'registry' | 'config'>,
  input: VersionText & { registered?: boolean },
  /** The current flows, when the caller has already read them (the gate has). */
  current?: FlowEntry[],
): Promise<{ summary: LintSummary; errors: LintFinding[] }> {
  const ruleset = await rulesetInForce(deps);
  const newest = await newestVersion(deps, input.partner, input.api);
  const olderVersion = Boolean(input.errorsAsWarnings) || (newest !== undefined && semver.lt(input.version, newest));
  const flows = current ?? (await currentFlows(deps)).map((f) => f.entry);
  let findings: LintFinding[];
  try {
    findings = await lint({
      text: input.text,
      format: input.format,
      source: contractPath(input.partner, input.api, input.version),
      ruleset,
      coveredOperationIds: coveredOperationIds(flows, input.partner, input.api, input.version),
      errorsAsWarnings: olderVersion || Boolean(input.registered),
    });
  } catch (error) {
    // Stored under an Accord that allowed more: say so instead of failing with a 500.
    if (!(error instanceof RulesetError)) throw error;
    throw new AccordError('conflict', `The ${ruleset.name} in force no longer loads (${error.message}); an admin must store a fixed one: PUT /v1/rulesets/network`);
  }
  const errors = findings.filter((f) => f.severity === 'error');
  return { summary: { ruleset: ruleset.name, olderVersion, errors: errors.length, warnings: findings.filter((f) => f.severity !== 'error') }, errors };
}

/**
 * The lint of a version about to be registered: its summary, or a 422 listing every error-level
 * finding with rule, JSON pointer and Spectral's line and column in the submitted text.
 */
export async function lintRegistration(deps: Pick<Deps, 'db' | 'registry' | 'config'>, input: VersionText): Promise<LintSummary> {
  const registered = (await findVersion(deps, input.partner, input.api, input.version)) !== undefined;
  const { summary, errors } = await lintContractVersion(deps, { ...input, registered });
  if (errors.length === 0) return summary;
  const ref = `${input.partner}/${input.api}@${input.version}`;
  throw new AccordError('invalid_document', `${ref} breaks ${errors.length} style rule${errors.length === 1 ? '' : 's'} of the ${summary.ruleset}`, {
    errors: errors.map(({ rule, location, message, line, column }) => ({ rule, location, message, line, column })),
    extra: { ruleset: summary.ruleset, warnings: summary.warnings.length },
  });
}

/** Lints a registered version's stored YAML for the gate (cached by content, ruleset and coverage). */
export async function lintFactsOf(deps: Pick<Deps, 'db' | 'registry' | 'config'>, row: ContractVersionRow, current?: FlowEntry[]): Promise<LintFacts> {
  const load = () => deps.registry.read(row.commit, contractPath(row.partner, row.api, row.version));
  const { summary, errors } = await lintContractVersion(deps, { partner: row.partner, api: row.api, version: row.version, text: { sha256: row.sha256, load }, format: 'yaml' }, current);
  return {
    ruleset: summary.ruleset,
    olderVersion: summary.olderVersion,
    errors: errors.length,
    findings: errors.slice(0, 20).map(({ rule, location, line, column, message }) => ({ rule, location, line, column, message })),
    warnings: summary.warnings.length,
    warningRules: [...new Set(summary.warnings.map((w) => w.rule))].sort(),
  };
}

/** A stored network ruleset version with its parsed content and its YAML text. */
export type NetworkRuleset = MatrixVersionView & { entry: unknown; yaml: string };

/** The network ruleset (latest, or `version`), with its YAML; 404 saying spectral:oas applies while none is stored. */
export async function getNetworkRuleset(deps: Pick<Deps, 'db' | 'registry' | 'config'>, version?: number): Promise<NetworkRuleset> {
  const latest = await latestMatrixRow(deps, RULESET_NAME);
  if (!latest || latest.kind !== 'ruleset') {
    throw new AccordError('not_found', 'No network ruleset is registered: spectral:oas (recommended rules) applies to registrations, the gate and accord lint until an admin stores one (PUT /v1/rulesets/network)');
  }
  let document: MatrixVersionView & { entry: unknown };
  try {
    document = await getMatrixDocument(deps, 'ruleset', RULESET_NAME, version);
  } catch (error) {
    if (error instanceof AccordError && error.code === 'not_found') throw new AccordError('not_found', `No network ruleset version ${version} (the latest is v${latest.version})`);
    throw error;
  }
  return { ...document, yaml: await deps.registry.read(document.commit, matrixPath(RULESET_NAME)) };
}

/**
 * Stores a new version of the network ruleset when its canonical content differs from the latest
 * (identical content: `created: false`). A ruleset that does not load → 422 listing every
 * finding with rule and JSON pointer; nothing is stored.
 */
export async function putNetworkRuleset(deps: Deps, principal: Principal, body: string, format: DocumentFormat): Promise<{ created: boolean; version: MatrixVersionView }> {
  // Checked here first so the problem names the ruleset (the store would call it a control-matrix entry).
  const findings = await checkRulesetData(parseText(body, format, { maxAliases: deps.config.yamlMaxAliases }));
  if (findings.length > 0) {
    throw new AccordError('invalid_document', `The ruleset fails ${findings.length} check${findings.length === 1 ? '' : 's'}; nothing was stored`, { errors: findings });
  }
  return await putMatrixDocument(deps, principal, { kind: 'ruleset', name: RULESET_NAME, body, format });
}
