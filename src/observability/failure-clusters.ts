import { and, desc, eq, gte, isNotNull, type SQL } from 'drizzle-orm';
import type { Principal } from '../auth/principal.ts';
import { transactions } from '../db/index.ts';
import type { Deps } from '../deps.ts';
import { absoluteUrl } from '../lib/public-url.ts';
import { durationMs } from '../matrix/durations.ts';

/** At most this many failed transactions of a window are grouped (newest first). */
const MAX_SCANNED = 20_000;
/** Sample transaction ids shown per cluster. */
const SAMPLES = 5;

/** What a failure cluster is made of: partner, flow, step and error taxonomy (failure mode and status class). */
export interface ClusterKey {
  partner: string;
  flow: string;
  step: string;
  failureMode: string;
  statusClass: string;
}

/** One cluster: transactions of one partner failing the same way. */
export interface FailureCluster extends ClusterKey {
  compensation: boolean;
  count: number;
  states: Record<string, number>;
  firstSeen: string;
  lastSeen: string;
  sampleTransactionIds: string[];
  link: string;
  consoleLink: string;
}

/** The filters of a cluster question; a partner token sees only its own. */
export interface ClusterQuery {
  partner?: string;
  flow?: string;
  step?: string;
  failureMode?: string;
  statusClass?: string;
  /** An ISO 8601 duration back from now (default P7D). */
  window?: string;
}

interface Failure {
  step?: string;
  failureMode?: string;
  status?: number | null;
  compensation?: boolean;
}

/** The status class of a partner's answer: 2xx … 5xx, or `no-answer` (timeout, connection). */
export function statusClassOf(status: unknown): string {
  return typeof status === 'number' && status >= 100 && status < 600 ? `${Math.floor(status / 100)}xx` : 'no-answer';
}

/** The cluster a failed transaction belongs to. */
export function clusterKeyOf(row: { partner: string; flow: string; failure: string | null }): ClusterKey & { compensation: boolean } {
  const failure = row.failure ? (JSON.parse(row.failure) as Failure) : {};
  return {
    partner: row.partner,
    flow: row.flow,
    step: failure.step ?? 'unknown',
    failureMode: failure.failureMode ?? (failure.compensation ? 'compensation-failed' : 'unclassified'),
    statusClass: statusClassOf(failure.status),
    compensation: failure.compensation === true,
  };
}

const keyText = (k: ClusterKey) => [k.partner, k.flow, k.step, k.failureMode, k.statusClass].join('\u0000');

/** The console page of one cluster (its transactions). */
export function clusterPath(k: Partial<ClusterKey>): string {
  const params = new URLSearchParams(Object.entries(k).filter((e): e is [string, string] => typeof e[1] === 'string' && e[1] !== ''));
  return `/console/operations/clusters?${params.toString()}`;
}

async function failedRows(deps: Pick<Deps, 'db' | 'clock'>, principal: Principal, query: ClusterQuery) {
  if (principal.role === 'partner' && query.partner && query.partner !== principal.partner) return [];
  const since = new Date(deps.clock().getTime() - durationMs(query.window ?? 'P7D')).toISOString();
  const where: SQL[] = [isNotNull(transactions.failure), gte(transactions.createdAt, since)];
  const partner = principal.role === 'partner' ? principal.partner! : query.partner;
  if (partner) where.push(eq(transactions.partner, partner));
  if (query.flow) where.push(eq(transactions.flow, query.flow));
  const rows = await deps.db
    .select({ id: transactions.id, partner: transactions.partner, flow: transactions.flow, state: transactions.state, failure: transactions.failure, createdAt: transactions.createdAt })
    .from(transactions)
    .where(and(...where))
    .orderBy(desc(transactions.createdAt))
    .limit(MAX_SCANNED)
    .all();
  return rows.map((r) => ({ ...r, key: clusterKeyOf(r) })).filter((r) => inCluster(r.key, query));
}

/** Whether a failure's key is in the step, failure mode and status class a query names (any, where it names none). */
const inCluster = (key: ClusterKey, query: ClusterQuery) => (!query.step || key.step === query.step) && (!query.failureMode || key.failureMode === query.failureMode) && (!query.statusClass || key.statusClass === query.statusClass);

/**
 * Failure clusters over a window: transactions that stopped with a failure (needs-attention,
 * compensated, or failed and still compensating) grouped by partner, flow, step, failure mode
 * and status class, largest first, with first and last seen and sample transaction ids.
 */
export async function failureClusters(deps: Pick<Deps, 'db' | 'clock' | 'config'>, principal: Principal, query: ClusterQuery): Promise<{ window: string; from: string; to: string; clusters: FailureCluster[] }> {
  return grouped(deps, await failedRows(deps, principal, query), query.window ?? 'P7D');
}

/**
 * One cluster's page, from one scan: the clusters of its partner and flow (to pivot to a
 * neighbour) and the cluster's own transactions (newest first, at most `limit`).
 */
export async function clusterWithMembers(deps: Pick<Deps, 'db' | 'clock' | 'config'>, principal: Principal, query: ClusterQuery, limit = 200) {
  const rows = await failedRows(deps, principal, { partner: query.partner, flow: query.flow, window: query.window });
  const members = rows.filter((r) => inCluster(r.key, query)).slice(0, limit).map((r) => ({ id: r.id, state: r.state, createdAt: r.createdAt, ...r.key }));
  return { ...grouped(deps, rows, query.window ?? 'P7D'), members };
}

function grouped(deps: Pick<Deps, 'clock' | 'config'>, rows: Awaited<ReturnType<typeof failedRows>>, window: string): { window: string; from: string; to: string; clusters: FailureCluster[] } {
  const now = deps.clock();
  const clusters = new Map<string, FailureCluster>();
  for (const row of rows) {
    const text = keyText(row.key);
    let cluster = clusters.get(text);
    if (!cluster) {
      const { compensation, ...key } = row.key;
      const params = new URLSearchParams({ ...key, window });
      cluster = { ...key, compensation, count: 0, states: {}, firstSeen: row.createdAt, lastSeen: row.createdAt, sampleTransactionIds: [], link: absoluteUrl(deps.config, `/v1/operator/failure-clusters?${params.toString()}`), consoleLink: clusterPath(key) };
      clusters.set(text, cluster);
    }
    cluster.count++;
    cluster.states[row.state] = (cluster.states[row.state] ?? 0) + 1;
    if (row.createdAt < cluster.firstSeen) cluster.firstSeen = row.createdAt;
    if (row.createdAt > cluster.lastSeen) cluster.lastSeen = row.createdAt;
    if (cluster.sampleTransactionIds.length < SAMPLES) cluster.sampleTransactionIds.push(row.id);
  }
  return {
    window,
    from: new Date(now.getTime() - durationMs(window)).toISOString(),
    to: now.toISOString(),
    clusters: [...clusters.values()].sort((a, b) => b.count - a.count || b.lastSeen.localeCompare(a.lastSeen)),
  };
}
