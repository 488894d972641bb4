import { inArray } from 'drizzle-orm';
import semver from 'semver';
import type { Deps } from '../deps.ts';
import { listOperations, type LocatedOperation } from '../contracts/operations.ts';
import { contractSchemasOf, type ContractSchemas } from '../contracts/schema.ts';
import { contractsGeneration, loadContractDocument } from '../contracts/versions.ts';
import { contractVersions } from '../db/index.ts';
import type { FlowEntry } from '../matrix/checks.ts';
import { currentFlows } from '../matrix/store.ts';
import type { Json } from '../lib/json.ts';
import { deprecationOf } from '../notices/notices.ts';

/** One served operation of one contract version. */
export interface Route {
  partner: string;
  api: string;
  major: number;
  version: string;
  method: string;
  template: string;
  pattern: RegExp;
  params: string[];
  op: LocatedOperation;
  schemas: ContractSchemas;
  fhir: boolean;
  /** The flow a direct request to this operation belongs to (recorded as its one-step transaction). */
  flowEntry: FlowEntry | undefined;
  /** The flow entry whose idempotency applies: `flowEntry`, else the flow with this operation as a later step. */
  idempotencyFlowEntry: FlowEntry | undefined;
  deprecation: Awaited<ReturnType<typeof deprecationOf>>;
  /** The line's newest version reached its sunset: every request answers 410. */
  retired: boolean;
}

interface Table {
  generation: number;
  lines: Map<string, Route[]>;
  flows: Map<string, FlowEntry>;
  /** forFlow answers for this table, by flow, partner and major (saga attempts ask for every step). */
  served: Map<string, { version: string; operations: Map<string, Route> } | undefined>;
}

/** Whether the version a route serves is gone: retired, or deprecated with its sunset passed (the jobs loop retires it soon). */
export function pastSunset(route: Route, now: Date): boolean {
  return route.retired || (route.deprecation !== undefined && Date.parse(route.deprecation.sunset) <= now.getTime());
}

/** The request example of an operation's first media type (the reference network's synthetic members), if any. */
export function requestExample(route: Route | undefined): Json | undefined {
  return Object.values((route?.op.operation.requestBody?.content ?? {}) as Record<string, { example?: Json }>)[0]?.example;
}

/** The approved control-matrix version each current flow entry came from (set when a route table is built). */
const governing = new WeakMap<FlowEntry, { version: number; sha256: string }>();

/** The approved control-matrix version (number and sha256) a flow entry of the route table came from, if known. */
export function governingMatrix(flowEntry: FlowEntry): { version: number; sha256: string } | undefined {
  return governing.get(flowEntry);
}

function escapeRegex(s: string): string {
  return s.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');
}

/** Compiles a path template (/Group/{id}/$davinci-data-export) to a matcher. */
export function compileTemplate(template: string): { pattern: RegExp; params: string[] } {
  const params: string[] = [];
  const source = template
    .split(/(\{[^}]+\})/)
    .map((part) => {
      const m = /^\{([^}]+)\}$/.exec(part);
      if (m) {
        params.push(m[1]!);
        return '([^/]+)';
      }
      return escapeRegex(part);
    })
    .join('');
  return { pattern: new RegExp(`^${source}$`), params };
}

/**
 * What the runtime serves: every released (and, in the sandbox environment, approved) contract
 * version, the newest of each major line, with its operations, compiled schemas and the
 * control-matrix flows. Rebuilt when contracts or the matrix change (generation counter).
 */
export class RouteTable {
  private table: Table | undefined;
  private building: Promise<Table> | undefined;

  constructor(private readonly deps: Deps) {}

  private async current(): Promise<Table> {
    const generation = contractsGeneration();
    if (this.table?.generation !== generation) {
      this.building ??= this.build(generation).finally(() => (this.building = undefined));
      this.table = await this.building;
    }
    return this.table;
  }

  /** Routes of one `{partner}/{api}/v{major}` line. */
  async line(key: string): Promise<Route[]> {
    return (await this.current()).lines.get(key) ?? [];
  }

  /** Every served line, `{partner}/{api}/v{major}`. */
  async lineKeys(): Promise<string[]> {
    return [...(await this.current()).lines.keys()];
  }

  /** Every current control-matrix flow entry. */
  async allFlows(): Promise<FlowEntry[]> {
    return [...(await this.current()).flows.values()];
  }

  /** The current control-matrix entry of a flow. */
  async flow(name: string): Promise<FlowEntry | undefined> {
    return (await this.current()).flows.get(name);
  }

  /**
   * The served operations a flow runs against at `partner`: the newest served version inside
   * the flow's range (and major, if given), by operationId.
   */
  async forFlow(flowEntry: FlowEntry, partner: string, major?: number): Promise<{ version: string; operations: Map<string, Route> } | undefined> {
    if (flowEntry.contract.partner !== '*' && flowEntry.contract.partner !== partner) return undefined;
    const table = await this.current();
    const key = `${flowEntry.flow}|${flowEntry.contract.api}|${flowEntry.contract.versions}|${partner}|${major ?? ''}`;
    if (!table.served.has(key)) table.served.set(key, this.serve(table, flowEntry, partner, major));
    return table.served.get(key);
  }

  private serve(table: Table, flowEntry: FlowEntry, partner: string, major: number | undefined): { version: string; operations: Map<string, Route> } | undefined {
    let best: Route[] | undefined;
    for (const routes of table.lines.values()) {
      const first = routes[0];
      // A version without operations serves no flow.
      if (!first) continue;
      // Past its sunset a version is gone for sagas too, even before the jobs loop marks it retired.
      if (pastSunset(first, this.deps.clock()) || first.partner !== partner || first.api !== flowEntry.contract.api || (major !== undefined && first.major !== major)) continue;
      if (!semver.satisfies(first.version, flowEntry.contract.versions)) continue;
      if (!best || semver.gt(first.version, best[0]!.version)) best = routes;
    }
    if (!best) return undefined;
    return { version: best[0]!.version, operations: new Map(best.filter((r) => r.op.operationId).map((r) => [r.op.operationId!, r])) };
  }

  private async build(generation: number): Promise<Table> {
    const deps = this.deps;
    // Retired versions count: a line whose newest version reached its sunset answers 410, it does not fall back to an older one.
    const states = deps.config.runtimeEnvironment === 'sandbox' ? ['released', 'deprecated', 'retired', 'approved'] : ['released', 'deprecated', 'retired'];
    const rows = await deps.db.select().from(contractVersions).where(inArray(contractVersions.state, states)).all();
    const newest = new Map<string, (typeof rows)[number]>();
    for (const row of rows) {
      const key = `${row.partner}/${row.api}/${semver.major(row.version)}`;
      const current = newest.get(key);
      if (!current || semver.gt(row.version, current.version)) newest.set(key, row);
    }
    const current = await currentFlows(deps);
    for (const f of current) governing.set(f.entry, { version: f.version, sha256: f.sha256 });
    const flows = current.map((f) => f.entry);
    const lines = new Map<string, Route[]>();
    for (const row of newest.values()) {
      const routes = await versionRoutes(deps, row, flows);
      lines.set(`${row.partner}/${row.api}/v${semver.major(row.version)}`, routes);
    }
    return { generation, lines, flows: new Map(flows.map((f) => [f.flow, f])), served: new Map() };
  }
}

/**
 * The operations of one contract version as routes: compiled schemas, the flow a direct request
 * belongs to and the flow whose idempotency applies, its deprecation. The runtime serves them;
 * certification runs call a partner's endpoint with them.
 */
export async function versionRoutes(deps: Deps, row: typeof contractVersions.$inferSelect, flows: FlowEntry[]): Promise<Route[]> {
  const schemas = contractSchemasOf(deps.config, row.sha256, row.sizeBytes, await loadContractDocument(deps, row));
  const doc = schemas.document;
  const deprecation = await deprecationOf(deps, row.partner, row.api, row.version);
  const major = semver.major(row.version);
  const routes: Route[] = [];
  for (const op of listOperations(doc)) {
    const media = Object.keys(op.operation.requestBody?.content ?? op.operation.responses?.['200']?.content ?? {});
    const candidates = flows.filter(
      (f) => (f.contract.partner === '*' || f.contract.partner === row.partner) && f.contract.api === row.api && semver.satisfies(row.version, f.contract.versions) && f.steps[0]?.operationId === op.operationId,
    );
    // A direct request belongs to the flow made of that one operation; longer flows that
    // start with it are run by the saga engine (POST /v1/transactions).
    const flowEntry = candidates.find((f) => f.steps.length === 1) ?? candidates[0];
    // Safe reads (a poll step) are never deduplicated.
    const safe = op.method === 'get' || op.method === 'head';
    const containing = flows.find(
      (f) =>
        !safe && (f.contract.partner === '*' || f.contract.partner === row.partner) && f.contract.api === row.api && semver.satisfies(row.version, f.contract.versions) && f.steps.some((st) => st.operationId === op.operationId),
    );
    routes.push({ partner: row.partner, api: row.api, major, version: row.version, method: op.method.toUpperCase(), template: op.path, ...compileTemplate(op.path), op, schemas, fhir: media.some((m) => m.includes('fhir')), flowEntry, idempotencyFlowEntry: flowEntry ?? containing, deprecation, retired: row.state === 'retired' });
  }
  return routes;
}
