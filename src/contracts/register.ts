import { gitAuthor, requireRole, type Principal } from '../auth/principal.ts';
import type { Deps } from '../context.ts';
import { contractVersions } from '../db/index.ts';
import { AccordError } from '../errors.ts';
import { canonicalYaml, parseText, sha256, validateOpenApi, type DocumentFormat } from './document.ts';
import { assertIds, isSemver, versionKey } from './ids.ts';
import { contractPath, contractTag, findVersion, toView, type ContractVersionView } from './versions.ts';

export interface RegisterInput {
  partner: string;
  api: string;
  /** Explicit version; otherwise the document's info.version. */
  version?: string | undefined;
  body: string;
  format: DocumentFormat;
  /** Initial lifecycle state; only the seed import uses anything but draft. */
  state?: 'draft' | 'released';
}

export interface RegisterResult {
  /** false when the same version with identical content was already registered. */
  created: boolean;
  version: ContractVersionView;
}

/**
 * Registers a contract version: validates the document, commits its canonical YAML with an
 * annotated tag, then writes the SQLite index row. Identical re-registration is a no-op;
 * different content for an existing version is a 409 (versions are immutable).
 */
export async function registerContractVersion(deps: Deps, principal: Principal, input: RegisterInput): Promise<RegisterResult> {
  requireRole(principal, ['admin', 'author'], 'register contracts');
  assertIds({ partner: input.partner, api: input.api });
  const data = await validateOpenApi(parseText(input.body, input.format, { maxAliases: deps.config.yamlMaxAliases }));
  const version = input.version ?? data.info?.version;
  if (!isSemver(version)) {
    throw new AccordError('invalid_document', `Version ${JSON.stringify(version ?? null)} is not a semantic version (e.g. 1.2.0)`, {
      errors: [{ location: input.version === undefined ? '/info/version' : 'version', message: 'must be a semantic version such as 1.2.0' }],
    });
  }
  const { partner, api } = input;
  const yaml = canonicalYaml(data);
  const digest = sha256(yaml);

  return deps.registry.transaction(async (tx) => {
    const existing = findVersion(deps, partner, api, version);
    if (existing) {
      if (existing.sha256 === digest) return { created: false, version: toView(existing) };
      throw new AccordError('conflict', `${partner}/${api}@${version} is already registered with different content; versions are immutable, register a new version`, {
        extra: { existing: toView(existing), sha256: digest },
      });
    }
    const tag = contractTag(partner, api, version);
    const at = deps.clock();
    const now = at.toISOString();
    const row = await tx.publish(
      {
        path: contractPath(partner, api, version),
        content: yaml,
        tag,
        message: `Register contract ${partner}/${api} ${version}\n\nsha256: ${digest}\nregistered-by: ${principal.name} (${principal.role})`,
        tagMessage: `Contract ${partner}/${api} ${version} (sha256 ${digest})`,
        author: gitAuthor(principal),
        at,
      },
      (commit) =>
        deps.db
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
    deps.logger.info({ partner, api, version, commit: row.commit, by: principal.name }, 'contract version registered');
    return { created: true, version: toView(row) };
  });
}
