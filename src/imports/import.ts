import { desc, eq } from 'drizzle-orm';
import type { Principal } from '../auth/principal.ts';
import { canonicalYaml, parseText, sha256 } from '../contracts/document.ts';
import { newestVersions } from '../contracts/import.ts';
import { registerContractVersion } from '../contracts/register.ts';
import { matrixVersions } from '../db/index.ts';
import type { Deps } from '../deps.ts';
import { diffMatrixVersions } from '../diff/service.ts';
import type { Bump, DiffSummary } from '../diff/types.ts';
import { AccordError } from '../errors.ts';
import { writeMatrixEntry } from '../matrix/proposals.ts';
import { MATRIX_KINDS, putMatrixDocument, type MatrixKind } from '../matrix/store.ts';
import { applyAtomically } from './atomic.ts';
import { authorizeImport, planImport, targetName, type ImportFile, type ImportFinding, type ImportKind, type PlannedFile } from './plan.ts';

/**
 * `POST /v1/imports` (ADR 0019): a folder of the registry layout applied all or nothing. Every file
 * goes through the same write function as its own route (`registerContractVersion`,
 * `putMatrixDocument`), in one registry batch (one Git update, one atomic push to a registry
 * remote) and one database transaction, each file in a savepoint so that a refused file rolls back
 * alone and the next files are still checked: the caller hears of every problem at once. Any
 * refusal, or a dry run, rolls everything back.
 */

export interface ImportRequest {
  files: ImportFile[];
  /** Check and report what would change, write nothing. */
  dryRun?: boolean | undefined;
  /** Store matrix documents whose content equals an older version of their entry. */
  allowRevert?: boolean | undefined;
}

/** What happened (or, in a dry run, would happen) to one file. */
export interface ImportedFile {
  path: string;
  kind: ImportKind;
  /** `<partner>/<api>` for a contract, else the document's name. */
  name: string;
  /** The contract version, or the matrix document's version number (new or latest). */
  version: string | number;
  action: 'created' | 'proposed' | 'unchanged';
  sha256: string;
  /** Against the version before it, where there is one to diff: contracts and flows. */
  diff?: { against: string | number; bump: Bump; summary: DiffSummary };
  /** Findings below error level the write function returned, if any. */
  warnings?: unknown[];
}

export interface ImportResult {
  dryRun: boolean;
  /** Whether the registry and the database now hold the new versions (false for a dry run or when nothing changed). */
  applied: boolean;
  files: ImportedFile[];
  totals: { files: number; created: number; proposed: number; unchanged: number };
}

/** Ends the database transaction without committing it, carrying what was found (a refusal or a dry run). */
class RolledBack extends Error {
  constructor(
    readonly files: ImportedFile[],
    readonly findings: ImportFinding[],
  ) {
    super('import rolled back');
  }
}

/**
 * Imports a batch of registry-layout files all or nothing (see the comment at the top of this
 * file). Refused files → 422 listing every finding as `errors[{path, rule, location, message}]`,
 * nothing written; a policy or ruleset without an admin → 403 before anything is looked at.
 */
export async function importFiles(deps: Deps, principal: Principal, input: ImportRequest): Promise<ImportResult> {
  const { planned, findings: pathFindings } = planImport(input.files);
  authorizeImport(principal, planned);
  // As in seeding: a version below the newest of its API in the batch keeps loading, its style errors as warnings.
  const newest = newestVersions(planned.flatMap((f) => (f.target.kind === 'contract' ? [f.target] : [])));
  const outcome = await applyAtomically(deps, async (batch) => {
    const files: ImportedFile[] = [];
    const findings = [...pathFindings];
    for (const file of planned) {
      try {
        files.push(await batch.savepoint(() => deps.db.transaction(() => importOne(deps, principal, file, input, newest))));
      } catch (error) {
        findings.push(...findingsOf(file.path, error));
      }
    }
    if (findings.length > 0 || input.dryRun) throw new RolledBack(files, findings);
    return { files, findings, applied: true };
  }).catch((error: unknown) => {
    if (error instanceof RolledBack) return { files: error.files, findings: error.findings, applied: false };
    throw error;
  });
  if (outcome.findings.length > 0) {
    const refused = new Set(outcome.findings.map((f) => f.path)).size;
    deps.logger.info({ by: principal.name, files: input.files.length, refused }, 'import refused');
    throw new AccordError('invalid_document', `The import was refused: ${refused} of ${input.files.length} file${input.files.length === 1 ? '' : 's'} cannot be stored; nothing was written`, {
      errors: outcome.findings,
    });
  }
  const totals = { files: outcome.files.length, created: 0, proposed: 0, unchanged: 0 };
  for (const f of outcome.files) totals[f.action]++;
  const applied = outcome.applied && totals.created + totals.proposed > 0;
  if (applied) deps.logger.info({ by: principal.name, ...totals }, 'import applied');
  return { dryRun: input.dryRun === true, applied, files: outcome.files, totals };
}

/** One file through its write function (inside the batch and a savepoint). */
async function importOne(deps: Deps, principal: Principal, file: PlannedFile, input: ImportRequest, newestInBatch: Map<string, string>): Promise<ImportedFile> {
  const { target } = file;
  if (target.kind === 'contract') {
    const result = await registerContractVersion(deps, principal, { partner: target.partner, api: target.api, version: target.version, body: file.content, format: target.format, lintErrorsAsWarnings: newestInBatch.get(`${target.partner}/${target.api}`) !== target.version });
    const { diff } = result;
    return {
      path: file.path,
      kind: 'contract',
      name: targetName(target),
      version: result.version.version,
      action: result.created ? 'created' : 'unchanged',
      sha256: result.version.sha256,
      ...(diff ? { diff: { against: diff.against, bump: diff.bump, summary: diff.summary } } : {}),
      ...warningsOf(result),
    };
  }
  if (!(MATRIX_KINDS as readonly string[]).includes(target.kind)) {
    throw new AccordError('invalid_document', `This server keeps no ${target.kind} document`, { errors: [{ location: '', message: `this server keeps no ${target.kind} in the control matrix`, rule: 'unsupported' }] });
  }
  const versions = await liveVersions(deps, target.name);
  const newest = versions[0];
  if (!input.allowRevert) refuseRevert(deps, file, target.name, versions);
  // A flow goes through the PUT route's semantics (an author's or admin's change is a proposal
  // that governs nothing until approved); the policy and the ruleset are admin writes.
  const result =
    target.kind === 'flow'
      ? await writeMatrixEntry(deps, principal, { flow: target.name, body: file.content, format: target.format })
      : await putMatrixDocument(deps, principal, { kind: target.kind as MatrixKind, name: target.name, body: file.content, format: target.format });
  const { version } = result;
  const status = (version as { status?: unknown }).status;
  const imported: ImportedFile = {
    path: file.path,
    kind: target.kind,
    name: target.name,
    version: version.version,
    action: !result.created ? 'unchanged' : status === 'proposed' ? 'proposed' : 'created',
    sha256: version.sha256,
    ...warningsOf(result),
  };
  if (result.created && newest && target.kind === 'flow') {
    // A summary only: the full matrix diff is one GET away once the version is stored.
    const diff = await diffMatrixVersions(deps, target.name, newest.version, version.version).catch(() => undefined);
    if (diff) imported.diff = { against: newest.version, bump: diff.bump, summary: diff.summary };
  }
  return imported;
}

/** The versions of a matrix document that were or are its content (not rejected proposals), newest first. */
async function liveVersions(deps: Pick<Deps, 'db'>, name: string): Promise<Array<{ version: number; sha256: string }>> {
  const rows = await deps.db.select({ version: matrixVersions.version, sha256: matrixVersions.sha256, status: matrixVersions.status }).from(matrixVersions).where(eq(matrixVersions.name, name)).orderBy(desc(matrixVersions.version)).all();
  return rows.filter((r) => r.status !== 'rejected');
}

/**
 * Non-regression: a matrix document whose canonical content equals an older version of its entry
 * than the newest (a stale checkout, most likely) is refused with rule `revert`. Content that does
 * not parse is left to the write function to refuse in its own words.
 */
function refuseRevert(deps: Pick<Deps, 'config'>, file: PlannedFile, name: string, versions: Array<{ version: number; sha256: string }>): void {
  const [newest, ...older] = versions;
  if (!newest) return;
  let digest: string;
  try {
    digest = sha256(canonicalYaml(parseText(file.content, file.target.format, { maxAliases: deps.config.yamlMaxAliases })));
  } catch {
    return;
  }
  if (newest.sha256 === digest) return;
  const equal = older.find((v) => v.sha256 === digest);
  if (!equal) return;
  const what = file.target.kind === 'flow' ? `control-matrix entry "${name}"` : `the ${file.target.kind}`;
  const message = `equals version ${equal.version} of ${what}, older than its newest version ${newest.version}: importing it would revert the entry (from a stale checkout?); pass --allow-revert (allowRevert: true) to store it again as a new version`;
  throw new AccordError('invalid_document', message, { errors: [{ location: '', message, rule: 'revert' }] });
}

/** Warnings a write function returned with its result (e.g. style findings below error level). */
function warningsOf(result: object): { warnings?: unknown[] } {
  const warnings = (result as { warnings?: unknown }).warnings;
  return Array.isArray(warnings) && warnings.length > 0 ? { warnings } : {};
}

/**
 * A refused file's findings: a 4xx AccordError's `errors` (its detail first for a conflict, which
 * says why), or its detail alone. Anything else — a 5xx, a failure of git or the database, a
 * permission refusal — is not about the file: it aborts the whole import, rethrown.
 */
function findingsOf(path: string, error: unknown): ImportFinding[] {
  if (!(error instanceof AccordError) || error.status >= 500 || error.code === 'unauthorized' || error.code === 'forbidden' || error.code === 'too_many_requests') throw error;
  const rule = error.code === 'conflict' ? 'conflict' : 'invalid';
  const head: ImportFinding = { path, rule, location: '', message: error.message };
  const details = (error.errors ?? []).map((e) => ({ path, rule: e.rule ?? rule, location: e.location, message: e.message }));
  if (details.length === 0) return [head];
  return error.code === 'conflict' ? [head, ...details] : details;
}
