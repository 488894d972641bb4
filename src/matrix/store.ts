import { and, desc, eq, ne } from 'drizzle-orm';
import { keyAfter, keyOrder, pageOf, type KeyPart, type Page, type Paged } from '../lib/pages.ts';
import { gitAuthor, type Principal } from '../auth/principal.ts';
import { sameActor } from '../changes/separation.ts';
import type { Deps } from '../deps.ts';
import { canonicalYaml, parseText, sha256, type DocumentFormat } from '../contracts/document.ts';
import { checkIds } from '../contracts/ids.ts';
import { markContractsChanged, PARSED_BYTES_PER_YAML_BYTE } from '../contracts/versions.ts';
import { lockKey, matrixVersions } from '../db/index.ts';
import { isUniqueViolation } from '../db/unique-violation.ts';
import { AccordError } from '../errors.ts';
import { newReviewItemId, openReviewItem } from '../gate/review-items.ts';
import { enqueueEvent } from '../notices/webhooks.ts';
import { TagTakenError } from '../registry/remote.ts';
import { byteBoundedCaches } from '../lib/byte-cache.ts';
import { parseYaml } from '../lib/yaml.ts';
import { checkFlow, checkPolicy, type Finding, type FlowEntry } from './checks.ts';
import { checkPreconditions, type MatrixPreconditions } from './preconditions.ts';
import { checkRulesetData } from '../lint/pool.ts';
import { registrySource } from './sources.ts';

/** What a control-matrix document is: one flow's entry, the governance policy or the network's lint ruleset. */
export const MATRIX_KINDS = ['flow', 'policy', 'ruleset'] as const;
export type MatrixKind = (typeof MATRIX_KINDS)[number];
/** A stored version's index row. */
export type MatrixRow = typeof matrixVersions.$inferSelect;

/**
 * Where a stored version stands (ADR 0018): only `approved` versions govern the gate and the
 * runtime (the newest approved one); `proposed` awaits review; `rejected` was turned down;
 * `superseded` was replaced before it was decided (its author proposed again on the same base,
 * or another version was approved after it was proposed).
 */
export const MATRIX_STATUSES = ['approved', 'proposed', 'rejected', 'superseded'] as const;
export type MatrixStatus = (typeof MATRIX_STATUSES)[number];

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
  status: MatrixStatus;
  /** The approved version a proposal was written against; null for a flow's first version. */
  baseVersion: number | null;
  decidedAt: string | null;
  decidedBy: string | null;
  /** The reason an admin stored it approved without review. */
  breakGlass: string | null;
}

/** A service's parsed matrix documents by sha256 (stored versions never change), bounded by estimated bytes. */
export const parsedMatrixDocuments = byteBoundedCaches<unknown>(PARSED_BYTES_PER_YAML_BYTE);

/** What the API shows of a stored version's row. */
export function toView(row: MatrixRow): MatrixVersionView {
  const { name, kind, version, sha256: digest, commit, createdAt, createdBy, baseVersion, decidedAt, decidedBy, breakGlass } = row;
  return { name, kind: kind as MatrixKind, version, sha256: digest, commit, createdAt, createdBy, status: row.status as MatrixStatus, baseVersion, decidedAt, decidedBy, breakGlass };
}

/** Where a version of `name` is stored in the registry (the same path for every version). */
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

/** How a new version is stored (default: approved at once, as seeding and the admin-only policy are). */
export interface MatrixWriteOptions {
  /** Store it as a proposal awaiting review (ADR 0018) rather than approved. */
  propose?: boolean;
  /** Admin only, checked by the caller: store it approved without review, for this reason (audited, a review item). */
  breakGlass?: string;
  /** If-Match / If-None-Match against the approved version (412 when they fail, nothing written). */
  preconditions?: MatrixPreconditions;
}

/** What a write did: whether it stored a version, which one (or the existing one it equals), and the break-glass review item. */
export interface MatrixWriteResult {
  created: boolean;
  version: MatrixVersionView;
  reviewItem?: string;
}

/** The approved version moved while a version was being written against it: the write starts over. */
class BaseMovedError extends Error {}

/**
 * Stores a new version of a flow entry (kind `flow`) or of the policy (name `policy`) when its
 * canonical content differs from the approved one; identical content is a no-op (for a proposal
 * also content identical to an open proposal on the same base). Same Git and index discipline as
 * contracts: one commit and annotated tag per version, index row after the commit, nothing left
 * behind on failure. With a registry remote, a version number another replica took first (its tag
 * reached the remote, or its index row the database) is a lost race, not an error: the put starts
 * over above that number, as the next writer in one process would.
 */
export async function putMatrixDocument(
  deps: Deps,
  principal: Principal,
  input: { kind: MatrixKind; name: string; body: string; format: DocumentFormat },
  options: MatrixWriteOptions = {},
): Promise<MatrixWriteResult> {
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
      return await putMatrixVersion(deps, principal, { name, kind, yaml, digest, above: taken }, options);
    } catch (error) {
      if (!(error instanceof TagTakenError || error instanceof BaseMovedError || isUniqueViolation(error)) || attempt >= 10) throw error;
      // A unique violation needs nothing more: the next attempt sees the other replica's row; a
      // moved base is checked again (the preconditions may fail now).
      if (error instanceof TagTakenError) taken = Number(error.tag.slice(error.tag.lastIndexOf('/v') + 2));
    }
  }
}

async function putMatrixVersion(
  deps: Deps,
  principal: Principal,
  { name, kind, yaml, digest, above }: { name: string; kind: MatrixKind; yaml: string; digest: string; above: number },
  options: MatrixWriteOptions,
): Promise<MatrixWriteResult> {
  return deps.registry.transaction(async (tx) => {
    const newest = await newestMatrixRow(deps, name);
    if (newest && newest.kind !== kind) throw new AccordError('conflict', `"${name}" is already a ${newest.kind}`);
    const approved = await latestMatrixRow(deps, name);
    checkPreconditions(name, approved, options.preconditions);
    if (approved?.sha256 === digest) return { created: false, version: toView(approved) };
    const base = approved?.version ?? null;
    const status: MatrixStatus = options.propose ? 'proposed' : 'approved';
    if (status === 'proposed') {
      const same = await proposalLike(deps, name, digest, base);
      if (same?.status === 'proposed') return { created: false, version: toView(same) };
      if (same) throw new AccordError('conflict', `Version ${same.version} of "${name}" has this content against version ${base} and was rejected by ${same.decidedBy}; change the entry to address the rejection`, { extra: { version: same.version } });
    }
    const version = Math.max(newest?.version ?? 0, above) + 1;
    const tag = `control-matrix/${name}/v${version}`;
    const at = deps.clock();
    const label = kind === 'policy' ? 'governance policy' : `control-matrix entry ${name}`;
    const verb = status === 'proposed' ? 'Propose' : approved ? 'Update' : 'Add';
    const how = status === 'proposed' ? `proposed against version ${base ?? 'none'}` : options.breakGlass ? `approved by break-glass: ${options.breakGlass}` : 'approved';
    const reviewItem = options.breakGlass && kind === 'flow' ? newReviewItemId() : undefined;
    const row = await tx.publish(
      {
        path: matrixPath(name),
        content: yaml,
        tag,
        message: `${verb} ${label} (version ${version})\n\nsha256: ${digest}\nstatus: ${how}\nchanged-by: ${principal.name} (${principal.role})`,
        tagMessage: `${label} version ${version}, ${status} (sha256 ${digest})`,
        author: gitAuthor(principal),
        at,
      },
      async (commit) =>
        await deps.db.transaction(async (db) => {
          // Reviews decide under the same lock: a version is written against the approved one it read.
          await db.$serialize(matrixLock(name));
          if (((await latestMatrixRow(deps, name))?.version ?? null) !== base) throw new BaseMovedError();
          const decided = status === 'approved' ? { decidedAt: at.toISOString(), decidedBy: principal.name } : {};
          const stored = await db
            .insert(matrixVersions)
            .values({ name, version, kind, sha256: digest, commit, tag, createdAt: at.toISOString(), createdBy: principal.name, createdByToken: principal.tokenId, status, baseVersion: base, breakGlass: options.breakGlass ?? null, ...decided })
            .returning()
            .get();
          if (status === 'approved') await supersedeOpenProposals(db, name, version, at, principal.name);
          else await supersedeOwnProposals(db, stored, at);
          if (reviewItem) {
            const entry = parseYaml(yaml, { maxAliases: 0 }) as FlowEntry;
            const reason = `Control-matrix entry ${name} version ${version} stored approved without review (break-glass): ${options.breakGlass}`;
            await openReviewItem(db, { id: reviewItem, decisionId: tag, partner: entry.contract.partner, api: entry.contract.api, version: entry.contract.versions, reason, createdAt: at.toISOString(), createdBy: principal.name });
            await enqueueEvent(db, at, 'matrix.break-glass', { flow: name, version, baseVersion: base, reason: options.breakGlass, by: principal.name, reviewItem }, 'all');
          }
          return stored;
        }),
    );
    // The runtime's routes take idempotency and steps from the approved matrix: rebuild them.
    if (status === 'approved') await markContractsChanged(deps.db);
    deps.logger.info({ name, kind, version, status, commit: row.commit, by: principal.name }, 'control-matrix version stored');
    return { created: true, version: toView(row), ...(reviewItem ? { reviewItem } : {}) };
  });
}

/** The advisory lock under which a flow's versions change status (written, approved, rejected, superseded). */
export function matrixLock(name: string): number {
  return lockKey(`matrix ${name}`);
}

/** The newest proposal (open or rejected) of `name` with this content against this base. */
async function proposalLike(deps: Pick<Deps, 'db'>, name: string, digest: string, base: number | null): Promise<MatrixRow | undefined> {
  const rows = await deps.db
    .select()
    .from(matrixVersions)
    .where(and(eq(matrixVersions.name, name), eq(matrixVersions.sha256, digest)))
    .orderBy(desc(matrixVersions.version))
    .all();
  return rows.find((r) => (r.status === 'proposed' || r.status === 'rejected') && r.baseVersion === base);
}

/**
 * A new approved version ends every open proposal of `name` but itself: each was written against
 * an approved version that no longer governs, so its diff is not what approving it would change.
 */
export async function supersedeOpenProposals(db: Deps['db'], name: string, approvedVersion: number, at: Date, by: string): Promise<void> {
  await db
    .update(matrixVersions)
    .set({ status: 'superseded', decidedAt: at.toISOString(), decidedBy: by })
    .where(and(eq(matrixVersions.name, name), eq(matrixVersions.status, 'proposed'), ne(matrixVersions.version, approvedVersion)))
    .run();
}

/** A new proposal replaces its author's open proposals on the same base (a revision); other people's stay open. */
async function supersedeOwnProposals(db: Deps['db'], proposal: MatrixRow, at: Date): Promise<void> {
  const open = await db.select().from(matrixVersions).where(and(eq(matrixVersions.name, proposal.name), eq(matrixVersions.status, 'proposed'), ne(matrixVersions.version, proposal.version))).all();
  const author = { name: proposal.createdBy, token: proposal.createdByToken };
  for (const row of open) {
    if (row.baseVersion !== proposal.baseVersion || !sameActor({ name: row.createdBy, token: row.createdByToken }, author)) continue;
    await db.update(matrixVersions).set({ status: 'superseded', decidedAt: at.toISOString(), decidedBy: proposal.createdBy }).where(and(eq(matrixVersions.name, row.name), eq(matrixVersions.version, row.version))).run();
  }
}

/**
 * The index row of the version of `name` (a flow or the policy) that governs: the newest
 * approved one, if any. Proposals, rejected and superseded versions never govern.
 */
export async function latestMatrixRow(deps: Pick<Deps, 'db'>, name: string): Promise<MatrixRow | undefined> {
  return await deps.db.select().from(matrixVersions).where(and(eq(matrixVersions.name, name), eq(matrixVersions.status, 'approved'))).orderBy(desc(matrixVersions.version)).limit(1).get();
}

/** The index row of the newest version of `name` whatever its status (version numbers count every version). */
async function newestMatrixRow(deps: Pick<Deps, 'db'>, name: string): Promise<MatrixRow | undefined> {
  return await deps.db.select().from(matrixVersions).where(eq(matrixVersions.name, name)).orderBy(desc(matrixVersions.version)).limit(1).get();
}

/** One stored version's index row, if any. */
export async function matrixVersionRow(deps: Pick<Deps, 'db'>, name: string, version: number): Promise<MatrixRow | undefined> {
  return await deps.db.select().from(matrixVersions).where(and(eq(matrixVersions.name, name), eq(matrixVersions.version, version))).get();
}

/** One version (the approved one when `version` is undefined) with its parsed content; 404 otherwise. */
export async function getMatrixDocument(deps: Pick<Deps, 'db' | 'registry' | 'config'>, kind: MatrixKind, name: string, version?: number): Promise<MatrixVersionView & { entry: unknown }> {
  const row = version === undefined ? await latestMatrixRow(deps, name) : await matrixVersionRow(deps, name, version);
  if (!row || row.kind !== kind) {
    if (kind === 'policy') throw new AccordError('not_found', 'No governance policy is registered');
    const proposed = version === undefined && (await newestMatrixRow(deps, name))?.kind === kind;
    throw new AccordError('not_found', `No ${proposed ? 'approved version of the ' : ''}control-matrix entry "${name}"${version === undefined ? '' : ` version ${version}`}${proposed ? ` yet: see GET /v1/control-matrix/${name}/proposals` : ''}`);
  }
  const cache = parsedMatrixDocuments(deps.config);
  let entry = cache.get(row.sha256)?.value;
  if (entry === undefined) {
    const yaml = await deps.registry.read(row.commit, matrixPath(name));
    entry = parseYaml(yaml, { maxAliases: 0 });
    cache.set(row.sha256, { value: entry, sourceBytes: Buffer.byteLength(yaml) });
  }
  return { ...toView(row), entry: structuredClone(entry) };
}

/** Every version of one entry, oldest first, each with its status. */
export async function listMatrixVersions(deps: Pick<Deps, 'db'>, name: string, page: Page = { limit: 100_000 }): Promise<Paged<MatrixVersionView>> {
  const order: KeyPart<MatrixRow>[] = [{ column: matrixVersions.version, of: (r) => r.version }];
  const rows = await deps.db.select().from(matrixVersions).where(and(eq(matrixVersions.name, name), eq(matrixVersions.kind, 'flow'), keyAfter(order, page.after))).orderBy(...keyOrder(order)).limit(page.limit + 1).all();
  if (rows.length === 0 && !(await deps.db.select({ name: matrixVersions.name }).from(matrixVersions).where(and(eq(matrixVersions.name, name), eq(matrixVersions.kind, 'flow'))).limit(1).get())) {
    throw new AccordError('not_found', `No control-matrix entry "${name}"`);
  }
  const paged = pageOf(rows, page.limit, order);
  return { ...paged, items: paged.items.map(toView) };
}

/** The approved version of every flow entry that has one, parsed, ordered by flow id (what the gate and the runtime read). */
export async function currentFlows(deps: Pick<Deps, 'db' | 'registry' | 'config'>): Promise<Array<MatrixVersionView & { entry: FlowEntry }>> {
  const names = await deps.db
    .selectDistinct({ name: matrixVersions.name })
    .from(matrixVersions)
    .where(and(eq(matrixVersions.kind, 'flow'), eq(matrixVersions.status, 'approved')))
    .orderBy(matrixVersions.name)
    .all();
  return Promise.all(names.map(async ({ name }) => (await getMatrixDocument(deps, 'flow', name)) as MatrixVersionView & { entry: FlowEntry }));
}
