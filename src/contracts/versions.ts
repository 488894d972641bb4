import { and, count, desc, eq, inArray, max, or, type SQL } from 'drizzle-orm';
import type { Principal } from '../auth/principal.ts';
import type { Deps } from '../deps.ts';
import { contractVersions, type Db } from '../db/index.ts';
import { onSignal } from '../db/signals.ts';
import { AccordError } from '../errors.ts';
import { byteBoundedCaches } from '../lib/byte-cache.ts';
import { keyAfter, keyOrder, pageOf, slicePageAfterItem, type KeyPart, type Page, type Paged } from '../lib/pages.ts';
import { parseYaml } from '../lib/yaml.ts';
import type { HistoryEntry } from '../registry/git-registry.ts';
import type { OpenApiDocument } from './document.ts';

export type ContractVersionRow = typeof contractVersions.$inferSelect;

/** A contract version's lifecycle states, in the only order it moves through them. */
export const CONTRACT_STATES = ['draft', 'approved', 'released', 'deprecated', 'retired'] as const;

/** What the API shows of a contract version. */
export interface ContractVersionView {
  partner: string;
  api: string;
  version: string;
  state: string;
  sha256: string;
  commit: string;
  createdAt: string;
  createdBy: string;
}

let generation = 0;

onSignal('contracts', () => void generation++);

/**
 * Bumps the generation whenever a contract version is added or changes state, or the control
 * matrix changes (the runtime rebuilds its routes), here once the change commits and on every
 * other replica (signals.ts).
 */
export async function markContractsChanged(db: Pick<Db, '$signal'>): Promise<void> {
  await db.$signal('contracts');
}

/** The current contracts generation (see markContractsChanged). */
export function contractsGeneration(): number {
  return generation;
}

/** States every valid token may read; earlier states are visible to staff and the owning partner only. */
const PUBLISHED_STATES = new Set(['released', 'deprecated', 'retired']);

/** Whether `principal` may see this version at all. */
export function canSee(principal: Principal, row: Pick<ContractVersionRow, 'partner' | 'state'>): boolean {
  return principal.role !== 'partner' || row.partner === principal.partner || PUBLISHED_STATES.has(row.state);
}

/** Registry path of a contract version's document. */
export function contractPath(partner: string, api: string, version: string): string {
  return `contracts/${partner}/${api}/${version}/openapi.yaml`;
}

/** Annotated tag of a contract version. */
export function contractTag(partner: string, api: string, version: string): string {
  return `${partner}/${api}/v${version}`;
}

/** What the API shows of an index row. */
export function toView(row: ContractVersionRow): ContractVersionView {
  const { partner, api, version, state, sha256, commit, createdAt, createdBy } = row;
  return { partner, api, version, state, sha256, commit, createdAt, createdBy };
}

/** Every API with its newest visible version and how many versions the caller can see. */
export async function listContracts(deps: Deps, principal: Principal, page: Page = { limit: 100_000 }): Promise<Paged<{ partner: string; api: string; latestVersion: string; versionCount: number }>> {
  const visible = principal.role === 'partner' ? or(eq(contractVersions.partner, principal.partner ?? ''), inArray(contractVersions.state, [...PUBLISHED_STATES])) : undefined;
  // One row per API, then its newest visible version: the one holding the group's highest
  // version_key (strict semver: keys are unique within an API), by the (partner, api,
  // version_key) index. Not a bare column beside max(), which only SQLite allows.
  const apis = deps.db
    .select({ partner: contractVersions.partner, api: contractVersions.api, versionCount: count().as('version_count'), latestKey: max(contractVersions.versionKey).as('latest_key') })
    .from(contractVersions)
    .where(visible)
    .groupBy(contractVersions.partner, contractVersions.api)
    .as('apis');
  const order: KeyPart<{ partner: string; api: string }>[] = [
    { column: apis.partner, of: (r) => r.partner },
    { column: apis.api, of: (r) => r.api },
  ];
  const rows = await deps.db
    .select({ partner: apis.partner, api: apis.api, latestVersion: contractVersions.version, versionCount: apis.versionCount })
    .from(apis)
    .innerJoin(contractVersions, and(eq(contractVersions.partner, apis.partner), eq(contractVersions.api, apis.api), eq(contractVersions.versionKey, apis.latestKey)))
    .where(keyAfter(order, page.after))
    .orderBy(...keyOrder(order))
    .limit(page.limit + 1)
    .all();
  return pageOf(rows, page.limit, order);
}

/** The columns a ContractVersionView shows. */
const VIEW_COLUMNS = {
  partner: contractVersions.partner,
  api: contractVersions.api,
  version: contractVersions.version,
  state: contractVersions.state,
  sha256: contractVersions.sha256,
  commit: contractVersions.commit,
  createdAt: contractVersions.createdAt,
  createdBy: contractVersions.createdBy,
};

/** The order of an API's version list: semver (the version key), ties by the version text. */
const VERSION_ORDER: KeyPart<{ versionKey: string; version: string }>[] = [
  { column: contractVersions.versionKey, of: (r) => r.versionKey },
  { column: contractVersions.version, of: (r) => r.version },
];

/** One page of the visible versions of one API in semver order (404 when the caller can see none). */
export async function listVersions(deps: Deps, principal: Principal, partner: string, api: string, page: Page = { limit: 100_000 }): Promise<Paged<ContractVersionView>> {
  const rows = await deps.db
    .select({ ...VIEW_COLUMNS, versionKey: contractVersions.versionKey })
    .from(contractVersions)
    .where(and(visibleVersionsOf(principal, partner, api), keyAfter(VERSION_ORDER, page.after)))
    .orderBy(...keyOrder(VERSION_ORDER))
    .limit(page.limit + 1)
    .all();
  if (rows.length === 0 && !(await deps.db.select({ n: count() }).from(contractVersions).where(visibleVersionsOf(principal, partner, api)).get())?.n) throw new AccordError('not_found', `No contract ${partner}/${api}`);
  const paged = pageOf(rows, page.limit, VERSION_ORDER);
  return { ...paged, items: paged.items.map(({ versionKey: _, ...view }) => view) };
}

/** SQL form of canSee: the versions of one API `principal` may see. */
function visibleVersionsOf(principal: Principal, partner: string, api: string): SQL | undefined {
  const ofApi = and(eq(contractVersions.partner, partner), eq(contractVersions.api, api));
  if (principal.role !== 'partner' || principal.partner === partner) return ofApi;
  return and(ofApi, inArray(contractVersions.state, [...PUBLISHED_STATES]));
}

/**
 * One page of an API's visible versions, newest (semver) first, and how many the caller can
 * see in all; 404 when it can see none. Bounded and indexed (strict semver: version keys are
 * unique, so the index alone orders them), for APIs with thousands of versions.
 */
export async function listVersionPage(deps: Pick<Deps, 'db'>, principal: Principal, partner: string, api: string, page: { offset: number; limit: number }): Promise<{ rows: ContractVersionView[]; total: number }> {
  const where = visibleVersionsOf(principal, partner, api);
  const total = (await deps.db.select({ n: count() }).from(contractVersions).where(where).get())?.n ?? 0;
  if (total === 0) throw new AccordError('not_found', `No contract ${partner}/${api}`);
  const rows = await deps.db
    .select(VIEW_COLUMNS)
    .from(contractVersions)
    .where(where)
    .orderBy(desc(contractVersions.versionKey))
    .limit(page.limit)
    .offset(page.offset)
    .all();
  return { rows, total };
}

/** One version's index row, or undefined. */
export async function findVersion(deps: Pick<Deps, "db">, partner: string, api: string, version: string): Promise<ContractVersionRow | undefined> {
  return await deps.db
    .select()
    .from(contractVersions)
    .where(and(eq(contractVersions.partner, partner), eq(contractVersions.api, api), eq(contractVersions.version, version)))
    .get();
}

/** One visible version (404 otherwise: callers cannot tell hidden from absent). */
export async function getVersion(deps: Deps, principal: Principal, partner: string, api: string, version: string): Promise<ContractVersionRow> {
  const row = await findVersion(deps, partner, api, version);
  if (!row || !canSee(principal, row)) throw new AccordError('not_found', `No contract version ${partner}/${api}@${version}`);
  return row;
}

/** The canonical YAML of a visible version, as committed. */
export async function getDocument(deps: Deps, principal: Principal, partner: string, api: string, version: string): Promise<{ row: ContractVersionRow; yaml: string }> {
  const row = await getVersion(deps, principal, partner, api, version);
  return { row, yaml: await deps.registry.read(row.commit, contractPath(partner, api, version)) };
}

/**
 * Estimated bytes a cached parsed document costs per byte of its canonical YAML. Measured: it
 * occupies 5.9 (24 KB reference contract) to 6.8 (0.5 and 2 MB contracts) bytes of V8 heap per
 * byte, but while large registrations churn, each cached 2 MB document kept the process ~11.4
 * bytes of RSS per byte (heap pages and allocator arenas it keeps in use); the estimate is 12 so
 * that the budget bounds resident memory, not only the heap.
 */
export const PARSED_BYTES_PER_YAML_BYTE = 12;

/** A service's parsed documents by sha256 (versions are immutable, so a parse is valid forever), bounded by estimated bytes. */
export const parsedDocuments = byteBoundedCaches<OpenApiDocument>(PARSED_BYTES_PER_YAML_BYTE);

/** The parsed document of an indexed version (cached by content hash, within `config.cacheMaxBytes`). */
export async function loadContractDocument(deps: Pick<Deps, 'registry' | 'config'>, row: Pick<ContractVersionRow, 'partner' | 'api' | 'version' | 'commit' | 'sha256'>): Promise<OpenApiDocument> {
  const cache = parsedDocuments(deps.config);
  let doc = cache.get(row.sha256)?.value;
  if (!doc) {
    const yaml = await deps.registry.read(row.commit, contractPath(row.partner, row.api, row.version));
    doc = parseYaml(yaml, { maxAliases: 0 }) as OpenApiDocument;
    cache.set(row.sha256, { value: doc, sourceBytes: Buffer.byteLength(yaml) });
  }
  return doc;
}

/** Git commits that touched an API, newest first, limited to the versions the caller can see. */
export async function contractHistory(deps: Deps, principal: Principal, partner: string, api: string, page: Page = { limit: 100_000 }): Promise<Paged<HistoryEntry>> {
  const visible = new Set((await listVersions(deps, principal, partner, api)).items.map((r) => r.commit));
  const all = await deps.registry.history(`contracts/${partner}/${api}/`);
  const shown = principal.role === 'partner' && principal.partner !== partner ? all.filter((c) => visible.has(c.sha)) : all;
  return slicePageAfterItem(shown, page, (c) => [c.sha]);
}
