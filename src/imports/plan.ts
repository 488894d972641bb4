import { requireRole, requireScope, type Principal } from '../auth/principal.ts';
import type { DocumentFormat } from '../contracts/document.ts';
import { isSemver, sortBySemver } from '../contracts/ids.ts';

/** What an imported file is: a contract version, a flow entry, the governance policy or the network ruleset. */
export const IMPORT_KINDS = ['contract', 'flow', 'policy', 'ruleset'] as const;
export type ImportKind = (typeof IMPORT_KINDS)[number];

/** Most files one import may hold (each costs a Git commit and a diff while the batch holds the database). */
export const MAX_IMPORT_FILES = 1000;

/** One file of an import: its path in the registry layout and its text. */
export interface ImportFile {
  path: string;
  content: string;
}

/** Where a file goes, read from its path. */
export type ImportTarget =
  | { kind: 'contract'; partner: string; api: string; version: string; format: DocumentFormat }
  | { kind: 'flow' | 'policy' | 'ruleset'; name: string; format: DocumentFormat };

/** A file with its target, in the order the import applies it. */
export interface PlannedFile {
  path: string;
  content: string;
  target: ImportTarget;
}

/** One reason a batch is refused, for one file (`location` inside it, '' for the whole file). */
export interface ImportFinding {
  path: string;
  rule: string;
  location: string;
  message: string;
}

const CONTRACT_PATH = /^contracts\/([^/]+)\/([^/]+)\/([^/]+)\/openapi\.(yaml|yml|json)$/;
const MATRIX_PATH = /^control-matrix\/([^/]+)\.(yaml|yml|json)$/;
/** The names in control-matrix/ that are not flows. */
const MATRIX_DOCUMENTS: Record<string, 'policy' | 'ruleset'> = { policy: 'policy', ruleset: 'ruleset' };

const formatOf = (extension: string): DocumentFormat => (extension === 'json' ? 'json' : 'yaml');

/**
 * The target of a registry-layout path, or undefined for any other path:
 * `contracts/<partner>/<api>/<version>/openapi.yaml|yml|json`, `control-matrix/policy.yaml`,
 * `control-matrix/ruleset.yaml` and `control-matrix/<flow>.yaml` (or .yml, .json). The ids are
 * checked by the write functions, as for the per-document routes.
 */
export function importTarget(path: string): ImportTarget | undefined {
  const contract = CONTRACT_PATH.exec(path);
  if (contract) return { kind: 'contract', partner: contract[1]!, api: contract[2]!, version: contract[3]!, format: formatOf(contract[4]!) };
  const matrix = MATRIX_PATH.exec(path);
  if (matrix) return { kind: MATRIX_DOCUMENTS[matrix[1]!] ?? 'flow', name: matrix[1]!, format: formatOf(matrix[2]!) };
  return undefined;
}

/** What a target is called in results: `<partner>/<api>` or the matrix document's name. */
export function targetName(target: ImportTarget): string {
  return target.kind === 'contract' ? `${target.partner}/${target.api}` : target.name;
}

const KIND_ORDER: Record<ImportKind, number> = { contract: 0, policy: 1, ruleset: 2, flow: 3 };

/**
 * Orders the files as the import applies them — contracts (each API's versions in semver order, so
 * that each is diffed against the one before it), then the policy, the ruleset and the flows
 * (checked against the contracts) — and finds the paths that are not of the registry layout and
 * the files that name the same entry twice.
 */
export function planImport(files: readonly ImportFile[]): { planned: PlannedFile[]; findings: ImportFinding[] } {
  const findings: ImportFinding[] = [];
  const seen = new Map<string, string>();
  const planned: PlannedFile[] = [];
  for (const file of files) {
    const target = importTarget(file.path);
    if (!target) {
      findings.push({
        path: file.path,
        rule: 'unknown-path',
        location: '',
        message: 'not a registry-layout path: contracts/<partner>/<api>/<version>/openapi.yaml (or .json), control-matrix/<flow>.yaml, control-matrix/policy.yaml or control-matrix/ruleset.yaml',
      });
      continue;
    }
    const key = target.kind === 'contract' ? `contract ${target.partner}/${target.api}@${target.version}` : `matrix ${target.name}`;
    const first = seen.get(key);
    if (first !== undefined) {
      findings.push({ path: file.path, rule: 'duplicate', location: '', message: `names the same ${target.kind === 'contract' ? 'contract version' : 'document'} as ${first}` });
      continue;
    }
    seen.set(key, file.path);
    planned.push({ ...file, target });
  }
  return { planned: ordered(planned), findings };
}

function ordered(files: PlannedFile[]): PlannedFile[] {
  const byKind = [...files].sort((a, b) => KIND_ORDER[a.target.kind] - KIND_ORDER[b.target.kind] || targetName(a.target).localeCompare(targetName(b.target)));
  const contracts = byKind.filter((f) => f.target.kind === 'contract');
  const version = (f: PlannedFile) => (f.target as { version: string }).version;
  const out: PlannedFile[] = [];
  for (let i = 0; i < contracts.length; ) {
    const name = targetName(contracts[i]!.target);
    let j = i;
    while (j < contracts.length && targetName(contracts[j]!.target) === name) j++;
    const group = contracts.slice(i, j);
    // Folders that are not semantic versions come last; registration refuses them with a clear finding.
    out.push(...sortBySemver(group.filter((f) => isSemver(version(f))), version), ...group.filter((f) => !isSemver(version(f))));
    i = j;
  }
  return [...out, ...byKind.filter((f) => f.target.kind !== 'contract')];
}

/**
 * Refuses the whole import (403) unless the principal may write every file in it: the policy and
 * the ruleset need an admin, as their own routes do, and matrix documents need the `matrix:write`
 * scope on a token limited to scopes (the import itself needs `contracts:write`).
 */
export function authorizeImport(principal: Principal, files: readonly PlannedFile[]): void {
  const kinds = new Set(files.map((f) => f.target.kind));
  for (const kind of ['policy', 'ruleset'] as const) if (kinds.has(kind)) requireRole(principal, ['admin'], `import control-matrix/${kind}.yaml`);
  if (kinds.has('flow') || kinds.has('policy') || kinds.has('ruleset')) requireScope(principal, 'matrix:write', 'importing control-matrix documents');
}
