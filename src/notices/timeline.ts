import { and, asc, desc, eq, gte, inArray, lt, or, type SQL } from 'drizzle-orm';
import type { Principal } from '../auth/principal.ts';
import type { Deps } from '../deps.ts';
import { contractVersions, deprecations } from '../db/index.ts';

/** One deprecated version on the sunset timeline. */
export interface SunsetEntry {
  partner: string;
  api: string;
  version: string;
  /** deprecated, or retired once its sunset has passed (whether or not the jobs loop has marked it yet) */
  state: string;
  deprecatedAt: string;
  sunset: string;
  successor: string | null;
  reason: string;
}

/** The sunset timeline: upcoming sunsets soonest first, reached ones newest first, each list bounded. */
export interface SunsetTimeline {
  upcoming: SunsetEntry[];
  past: SunsetEntry[];
  /** More upcoming (or past) sunsets match than the lists hold. */
  moreUpcoming: boolean;
  morePast: boolean;
}

/** The states every token may read (a partner sees other partners' versions only in these, as in the API). */
const PUBLISHED = ['released', 'deprecated', 'retired'];

/** The visibility rule of `canSee` (src/contracts/versions.ts) in SQL, for the joined version row. */
function visibleTo(principal: Principal): SQL | undefined {
  if (principal.role !== 'partner') return undefined;
  return or(eq(contractVersions.partner, principal.partner ?? ''), inArray(contractVersions.state, PUBLISHED));
}

function deprecationsSeenBy(deps: Pick<Deps, 'db'>, principal: Principal) {
  return deps.db
    .select({
      partner: deprecations.partner,
      api: deprecations.api,
      version: deprecations.version,
      state: contractVersions.state,
      deprecatedAt: deprecations.deprecatedAt,
      sunset: deprecations.sunset,
      successor: deprecations.successor,
      reason: deprecations.reason,
    })
    .from(deprecations)
    .innerJoin(contractVersions, and(eq(contractVersions.partner, deprecations.partner), eq(contractVersions.api, deprecations.api), eq(contractVersions.version, deprecations.version)))
    .$dynamic();
}

/**
 * Deprecated versions the principal may see through the API (`canSee`), optionally of one
 * partner and/or API: sunsets still ahead of `now` soonest first, and those reached newest first.
 * @param options.limit how many of each list at most (default 100 upcoming, 25 past)
 */
export async function sunsetTimeline(
  deps: Pick<Deps, 'db' | 'clock'>,
  principal: Principal,
  filter: { partner?: string; api?: string },
  { upcomingLimit = 100, pastLimit = 25 }: { upcomingLimit?: number; pastLimit?: number } = {},
): Promise<SunsetTimeline> {
  const now = deps.clock().toISOString();
  const scope = [visibleTo(principal), filter.partner ? eq(deprecations.partner, filter.partner) : undefined, filter.api ? eq(deprecations.api, filter.api) : undefined];
  const upcoming = await deprecationsSeenBy(deps, principal)
    .where(and(...scope, gte(deprecations.sunset, now)))
    .orderBy(asc(deprecations.sunset), asc(deprecations.partner), asc(deprecations.api), asc(deprecations.version))
    .limit(upcomingLimit + 1)
    .all();
  const past = await deprecationsSeenBy(deps, principal)
    .where(and(...scope, lt(deprecations.sunset, now)))
    .orderBy(desc(deprecations.sunset), asc(deprecations.partner), asc(deprecations.api), asc(deprecations.version))
    .limit(pastLimit + 1)
    .all();
  return { upcoming: upcoming.slice(0, upcomingLimit), past: past.slice(0, pastLimit).map(retiredAtSunset), moreUpcoming: upcoming.length > upcomingLimit, morePast: past.length > pastLimit };
}

/**
 * A version past its sunset is retired: the exchange already refuses it (410) and the jobs loop
 * marks it so within ACCORD_JOBS_INTERVAL_MS; a reader does not wait for that run, nor does it write.
 */
function retiredAtSunset(entry: SunsetEntry): SunsetEntry {
  return entry.state === 'deprecated' ? { ...entry, state: 'retired' } : entry;
}

/** The partners and APIs that have deprecated versions the principal may see (for a filter's choices). */
export async function deprecatedApis(deps: Pick<Deps, 'db'>, principal: Principal): Promise<{ partners: string[]; apis: string[] }> {
  const rows = await deps.db
    .selectDistinct({ partner: deprecations.partner, api: deprecations.api })
    .from(deprecations)
    .innerJoin(contractVersions, and(eq(contractVersions.partner, deprecations.partner), eq(contractVersions.api, deprecations.api), eq(contractVersions.version, deprecations.version)))
    .where(visibleTo(principal))
    .all();
  return { partners: [...new Set(rows.map((r) => r.partner))].sort(), apis: [...new Set(rows.map((r) => r.api))].sort() };
}
