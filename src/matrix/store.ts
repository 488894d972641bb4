import { and, desc, eq } from 'drizzle-orm';
import { gitAuthor, type Principal } from '../auth/principal.ts';
import type { Deps } from '../deps.ts';
import { canonicalYaml, parseText, sha256, type DocumentFormat } from '../contracts/document.ts';
import { checkIds } from '../contracts/ids.ts';
import { markContractsChanged, PARSED_BYTES_PER_YAML_BYTE } from '../contracts/versions.ts';
import { matrixVersions } from '../db/index.ts';
import { isUniqueViolation } from '../db/unique-violation.ts';
import { AccordError } from '../errors.ts';
import { TagTakenError } from '../registry/remote.ts';
import { byteBoundedCaches } from '../lib/byte-cache.ts';
import { parseYaml } from '../lib/yaml.ts';
import { checkFlow, checkPolicy, type Finding, type FlowEntry } from './checks.ts';
import { checkRulesetData } from '../lint/pool.ts';
import { registrySource } from './sources.ts';

/** What a control-matrix document is: one flow's entry, the governance policy or the network's lint ruleset. */
export const MATRIX_KINDS = ['flow', 'policy', 'ruleset'] as const;
export type MatrixKind = (typeof MATRIX_KINDS)[number];
type MatrixRow = typeof matrixVersions.$inferSelect;

/** Names that are not flows: the policy and ruleset documents and a route. */
const RESERVED = new Set(['policy', 'ruleset', 'validate']);

/** What the API shows of one stored version. */
export interface MatrixVersionView {
  name: string;
  kind: MatrixKind;
  version: number;
  sha256: string;
  commit: string;
  createdAt: string;
  createdBy: string;
}

/** A service's parsed matrix documents by sha256 (stored versions never change), bounded by estimated bytes. */
export const parsedMatrixDocuments = byteBoundedCaches<unknown>(PARSED_BYTES_PER_YAML_BYTE);

function toView(row: MatrixRow): MatrixVersionView {
  const { name, kind, version, sha256: digest, commit, createdAt, createdBy } = row;
  return { name, kind: kind as MatrixKind, version, sha256: digest, commit, createdAt, createdBy };
}

export function matrixPath(name: string): string {
  return `control-matrix/${name}.yaml`;
}

function assertFlowName(flow: string): void {
  const errors = checkIds({ flow });
  if (errors.length > 0) throw new AccordError('bad_request', `Invalid flow id "${flow}"`, { errors });
  if (RESERVED.has(flow)) throw new AccordError('bad_request', `"${flow}" is reserved and cannot name a flow`, { errors: [{ location: 'flow', message: 'reserved name' }] });
}

/** Parses and checks a flow entry or the policy; returns the data and every finding. */
export async function checkMatrixDocument(
  deps: Pick<Deps, 'db' | 'registry' | 'config'>,
  kind: MatrixKind,
  body: string,
  format: DocumentFormat,
  expectedFlow?: string,
): Promise<{ data: unknown; findings: Finding[] }> {
  const data = parseText(body, format, { maxAliases: deps.config.yamlMaxAliases });
  const findings = kind === 'policy' ? checkPolicy(data) : kind === 'ruleset' ? await checkRulesetData(data) : await checkFlow(data, registrySource(deps), expectedFlow);
  return { data, findings };
}

function invalid(findings: Finding[], what: string): AccordError {
  return new AccordError('invalid_document', `${what} fails ${findings.length} check${findings.length === 1 ? '' : 's'}`, {
    errors: findings.map((f) => ({ location: f.location, message: f.message, rule: f.rule })),
  });
}

/**
 * Stores a new version of a flow entry (kind `flow`) or of the policy (name `policy`) when its
 * canonical content differs from the latest; identical content is a no-op. Same Git and index
 * discipline as contracts: one commit and annotated tag per version, index row after the
 * commit, nothing left behind on failure. With a registry remote, a version number another replica
 * took first (its tag reached the remote, or its index row the database) is a lost race, not an
 * error: the put starts over above that number, as the next writer in one process would.
 */
export async function putMatrixDocument(
  deps: Deps,
  principal: Principal,
  input: { kind: MatrixKind; name: string; body: string; format: DocumentFormat },
): Promise<{ created: boolean; version: MatrixVersionView }> {
  if (input.kind === 'flow') assertFlowName(input.name);
  const { data, findings } = await checkMatrixDocument(deps, input.kind, input.body, input.format, input.kind === 'flow' ? input.name : undefined);
  if (findings.length > 0) throw invalid(findings, input.kind === 'policy' ? 'The policy' : `Control-matrix entry "${input.name}"`);
  const yaml = canonicalYaml(data);
  const digest = sha256(yaml);
  const { name, kind } = input;
  // A tag on the remote that nobody indexed (its replica stopped between push and insert) stays
  // unindexed and its number is skipped: numbers above `taken` are tried.
  let taken = 0;
  for (let attempt = 1; ; attempt++) {
    try {
      return await putMatrixVersion(deps, principal, { name, kind, yaml, digest, above: taken });
    } catch (error) {
      if (!(error instanceof TagTakenError || isUniqueViolation(error)) || attempt >= 10) throw error;
      // A unique violation needs nothing more: the next attempt sees the other replica's row.
      if (error instanceof TagTakenError) taken = Number(error.tag.slice(error.tag.lastIndexOf('/v') + 2));
    }
  }
}

async function putMatrixVersion(
  deps: Deps,
  principal: Principal,
  { name, kind, yaml, digest, above }: { name: string; kind: MatrixKind; yaml: string; digest: string; above: number },
): Promise<{ created: boolean; version: MatrixVersionView }> {
  return deps.registry.transaction(async (tx) => {
    const latest = await latestMatrixRow(deps, name);
    if (latest && latest.kind !== kind) throw new AccordError('conflict', `"${name}" is already a ${latest.kind}`);
    if (latest?.sha256 === digest) return { created: false, version: toView(latest) };
    const version = Math.max(latest?.version ?? 0, above) + 1;
    const tag = `control-matrix/${name}/v${version}`;
    const at = deps.clock();
    const label = kind === 'policy' ? 'governance policy' : `control-matrix entry ${name}`;
    const row = await tx.publish(
      {
        path: matrixPath(name),
        content: yaml,
        tag,
        message: `${latest ? 'Update' : 'Add'} ${label} (version ${version})\n\nsha256: ${digest}\nchanged-by: ${principal.name} (${principal.role})`,
        tagMessage: `${label} version ${version} (sha256 ${digest})`,
        author: gitAuthor(principal),
        at,
      },
      async (commit) =>
        await deps.db
          .insert(matrixVersions)
          .values({ name, version, kind, sha256: digest, commit, tag, createdAt: at.toISOString(), createdBy: principal.name })
          .returning()
          .get(),
    );
    // The runtime's routes take idempotency and steps from the matrix: rebuild them.
    await markContractsChanged(deps.db);
    deps.logger.info({ name, kind, version, commit: row.commit, by: principal.name }, 'control-matrix version stored');
    return { created: true, version: toView(row) };
  });
}

/** The index row of the latest version of `name` (a flow or the policy), if any. */
export async function latestMatrixRow(deps: Pick<Deps, 'db'>, name: string): Promise<MatrixRow | undefined> {
  return await deps.db.select().from(matrixVersions).where(eq(matrixVersions.name, name)).orderBy(desc(matrixVersions.version)).limit(1).get();
}

/** One version (latest when `version` is undefined) with its parsed content; 404 otherwise. */
export async function getMatrixDocument(deps: Pick<Deps, 'db' | 'registry' | 'config'>, kind: MatrixKind, name: string, version?: number): Promise<MatrixVersionView & { entry: unknown }> {
  const row =
    version === undefined
      ? await latestMatrixRow(deps, name)
      : await deps.db.select().from(matrixVersions).where(and(eq(matrixVersions.name, name), eq(matrixVersions.version, version))).get();
  if (!row || row.kind !== kind) throw new AccordError('not_found', kind === 'policy' ? 'No governance policy is registered' : `No control-matrix entry "${name}"${version === undefined ? '' : ` version ${version}`}`);
  const cache = parsedMatrixDocuments(deps.config);
  let entry = cache.get(row.sha256)?.value;
  if (entry === undefined) {
    const yaml = await deps.registry.read(row.commit, matrixPath(name));
    entry = parseYaml(yaml, { maxAliases: 0 });
    cache.set(row.sha256, { value: entry, sourceBytes: Buffer.byteLength(yaml) });
  }
  return { ...toView(row), entry: structuredClone(entry) };
}

/** Every version of one entry, oldest first. */
export async function listMatrixVersions(deps: Pick<Deps, 'db'>, name: string): Promise<MatrixVersionView[]> {
  const rows = await deps.db.select().from(matrixVersions).where(and(eq(matrixVersions.name, name), eq(matrixVersions.kind, 'flow'))).orderBy(matrixVersions.version).all();
  if (rows.length === 0) throw new AccordError('not_found', `No control-matrix entry "${name}"`);
  return rows.map(toView);
}

/** The latest version of every flow entry, parsed, ordered by flow id. */
export async function currentFlows(deps: Pick<Deps, 'db' | 'registry' | 'config'>): Promise<Array<MatrixVersionView & { entry: FlowEntry }>> {
  const names = await deps.db
    .selectDistinct({ name: matrixVersions.name })
    .from(matrixVersions)
    .where(eq(matrixVersions.kind, 'flow'))
    .orderBy(matrixVersions.name)
    .all();
  return Promise.all(names.map(async ({ name }) => (await getMatrixDocument(deps, 'flow', name)) as MatrixVersionView & { entry: FlowEntry }));
}
