import { gitAuthor, requireRole, type Principal } from '../auth/principal.ts';
import type { Deps } from '../deps.ts';
import { contractVersions } from '../db/index.ts';
import { AccordError } from '../errors.ts';
import { and, desc, eq, like, lt } from 'drizzle-orm';
import { policyDiffOptions } from '../matrix/policy.ts';
import semver from 'semver';
import { diffContracts } from '../diff/contract-diff.ts';
import type { Change, DiffResult } from '../diff/types.ts';
import { canonicalYaml, parseText, sha256, validateOpenApi, type DocumentFormat, type OpenApiDocument } from './document.ts';
import { refFormatProblem } from '../registry/ref-format.ts';
import { assertIds, isMajorBump, isSemver, versionKey } from './ids.ts';
import { contractPath, contractTag, findVersion, loadContractDocument, markContractsChanged, toView, type ContractVersionRow, type ContractVersionView } from './versions.ts';
import { TagTakenError } from '../registry/remote.ts';
import { isUniqueViolation } from '../db/unique-violation.ts';
import { lintRegistration, type LintSummary } from '../lint/network.ts';

export interface RegisterInput {
  partner: string;
  api: string;
  /** Explicit version; otherwise the document's info.version. */
  version?: string | undefined;
  body: string;
  format: DocumentFormat;
  /** Initial lifecycle state; only the seed import uses anything but draft. */
  state?: 'draft' | 'released';
  /** Admin only: register a breaking change without a major version bump. */
  allowBreaking?: boolean;
  /** Report style-rule errors as warnings (the seed import's versions older than the newest in its folder). */
  lintErrorsAsWarnings?: boolean;
}

/** The diff of a new version against the version before it. */
export interface RegistrationDiff {
  against: string;
  summary: DiffResult['summary'];
  bump: DiffResult['bump'];
  /** The breaking changes, each distinct rule and location once (at most 50). */
  breaking: Change[];
}

export interface RegisterResult {
  /** false when the same version with identical content was already registered. */
  created: boolean;
  version: ContractVersionView;
  /** Set for a new version that has a predecessor. */
  diff?: RegistrationDiff;
  /** The style rules' verdict: no errors (those are a 422), the warnings. */
  lint?: LintSummary;
}

/**
 * Registers a contract version: validates the document, lints it with the style rules in force
 * (error-level findings → 422, warnings in the result), commits its canonical YAML with an
 * annotated tag, then writes the SQLite index row. Identical re-registration is a no-op;
 * different content for an existing version is a 409 (versions are immutable).
 */
export async function registerContractVersion(deps: Deps, principal: Principal, input: RegisterInput): Promise<RegisterResult> {
  if (input.allowBreaking) requireRole(principal, ['admin'], 'register a breaking change without a major version bump');
  assertIds({ partner: input.partner, api: input.api });
  const data = await validateOpenApi(parseText(input.body, input.format, { maxAliases: deps.config.yamlMaxAliases }));
  const version = input.version ?? data.info?.version;
  if (!isSemver(version)) {
    throw new AccordError('invalid_document', `Version ${JSON.stringify(version ?? null)} is not a semantic version (e.g. 1.2.0)`, {
      errors: [{ location: input.version === undefined ? '/info/version' : 'version', message: 'must be a semantic version such as 1.2.0' }],
    });
  }
  const { partner, api } = input;
  const refProblem = refFormatProblem(`refs/tags/${contractTag(partner, api, version)}`);
  if (refProblem) {
    throw new AccordError('invalid_document', `Version ${version} cannot be stored: its Git tag ${contractTag(partner, api, version)} ${refProblem}; choose another pre-release identifier`, {
      errors: [{ location: input.version === undefined ? '/info/version' : 'version', message: `must make a valid Git tag (it ${refProblem})` }],
    });
  }
  const yaml = canonicalYaml(data);
  const digest = sha256(yaml);
  // Style rules on the text as submitted (Spectral's line/column point into it), before anything is written.
  const lint = await lintRegistration(deps, { partner, api, version, text: input.body, format: input.format, errorsAsWarnings: input.lintErrorsAsWarnings });

  const result = await deps.registry.transaction(async (tx): Promise<RegisterResult> => {
    const existing = await findVersion(deps, partner, api, version);
    if (existing) return alreadyRegistered(existing, digest);
    const diff = await diffAgainstPrevious(deps, partner, api, version, data);
    if (diff && diff.summary.breaking > 0 && !isMajorBump(diff.against, version) && !input.allowBreaking) {
      throw new AccordError('conflict', `${partner}/${api}@${version} has ${diff.summary.breaking} breaking change${diff.summary.breaking === 1 ? '' : 's'} against ${diff.against} but is not a major version bump; register it as a new major version (or, as an admin, pass ?allowBreaking=true)`, {
        errors: diff.breaking.map((c) => ({ location: c.location, message: `${c.method ? `${c.method} ${c.path}: ` : ''}${c.message}`, rule: c.rule })),
        extra: { diff },
      });
    }
    const tag = contractTag(partner, api, version);
    const at = deps.clock();
    const now = at.toISOString();
    let row: ContractVersionRow;
    try {
      row = await tx.publish(
        {
          path: contractPath(partner, api, version),
          content: yaml,
          tag,
          message: `Register contract ${partner}/${api} ${version}\n\nsha256: ${digest}\nregistered-by: ${principal.name} (${principal.role})`,
          tagMessage: `Contract ${partner}/${api} ${version} (sha256 ${digest})`,
          author: gitAuthor(principal),
          at,
        },
        async (commit) =>
          await deps.db
            .insert(contractVersions)
            .values({
              partner,
              api,
              version,
              versionKey: versionKey(version),
              state: input.state ?? 'draft',
              sha256: digest,
              commit,
              tag,
              sizeBytes: Buffer.byteLength(yaml),
              createdAt: now,
              createdBy: principal.name,
            })
            .returning()
            .get(),
      );
    } catch (error) {
      return await registeredMeanwhile(deps, { partner, api, version, digest }, error);
    }
    await markContractsChanged(deps.db);
    deps.logger.info({ partner, api, version, commit: row.commit, by: principal.name }, 'contract version registered');
    return { created: true, version: toView(row), ...(diff ? { diff } : {}) };
  });
  return { ...result, lint };
}

/** An already registered version: identical content is a no-op (200), different content a 409 (versions are immutable). */
function alreadyRegistered(existing: ContractVersionRow, digest: string): RegisterResult {
  if (existing.sha256 === digest) return { created: false, version: toView(existing) };
  throw new AccordError('conflict', `${existing.partner}/${existing.api}@${existing.version} is already registered with different content; versions are immutable, register a new version`, {
    extra: { existing: toView(existing), sha256: digest },
  });
}

/**
 * The answer when publishing lost a race to another replica that registered the same version after
 * this one's check: its push reached the registry remote first (TagTakenError) or its index row
 * did (unique violation). Same answers as for a version found indexed; a tag on the remote that
 * nobody indexed (its replica stopped between push and insert) with different content is a 409
 * too — identical content never gets here, the registry adopts it. Rethrows any other error.
 */
async function registeredMeanwhile(deps: Deps, v: { partner: string; api: string; version: string; digest: string }, error: unknown): Promise<RegisterResult> {
  if (!(error instanceof TagTakenError) && !isUniqueViolation(error)) throw error;
  const winner = await findVersion(deps, v.partner, v.api, v.version);
  if (winner) return alreadyRegistered(winner, v.digest);
  if (!(error instanceof TagTakenError)) throw error;
  throw new AccordError('conflict', `${v.partner}/${v.api}@${v.version} is already in the registry remote with different content (published by a replica that stopped before indexing it); versions are immutable, register a new version`, {
    extra: { tag: error.tag, commit: error.commit, sha256: v.digest },
  });
}

/** Diffs a new version against the version before it (for a release: the previous release), if any. */
async function diffAgainstPrevious(deps: Deps, partner: string, api: string, version: string, doc: OpenApiDocument): Promise<RegistrationDiff | undefined> {
  // A release is judged against the previous release: what changed since its pre-releases is free.
  const isRelease = new semver.SemVer(version).prerelease.length === 0;
  const previous = await deps.db
    .select()
    .from(contractVersions)
    .where(and(eq(contractVersions.partner, partner), eq(contractVersions.api, api), lt(contractVersions.versionKey, versionKey(version)), isRelease ? like(contractVersions.versionKey, '%\x7f') : undefined))
    .orderBy(desc(contractVersions.versionKey))
    .limit(1)
    .get();
  if (!previous) return undefined;
  const result = diffContracts(await loadContractDocument(deps, previous), doc, await policyDiffOptions(deps));
  const seen = new Set<string>();
  const breaking = result.changes.filter((c) => c.level === 'breaking' && !seen.has(`${c.rule}|${c.location}`) && seen.add(`${c.rule}|${c.location}`));
  return { against: previous.version, summary: result.summary, bump: result.bump, breaking: breaking.slice(0, 50) };
}
