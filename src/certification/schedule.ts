import { randomBytes } from 'node:crypto';
import { and, desc, eq, isNotNull } from 'drizzle-orm';
import { SYSTEM } from '../auth/principal.ts';
import { certificationRuns, partnerEndpoints, releases } from '../db/index.ts';
import type { Deps } from '../deps.ts';
import { AccordError } from '../errors.ts';
import { durationMs } from '../matrix/durations.ts';
import type { Certifier } from './certifier.ts';

/** Who starts scheduled runs (as the audit and the run's createdBy say). */
const SCHEDULER = { ...SYSTEM, name: 'accord-certification-schedule' };

/**
 * Periodic certification (the leader's job): for every partner environment with `certifyEvery`,
 * each API released to that environment is certified — its newest release — when its last
 * scheduled run is older than the interval. Returns the runs started.
 */
export async function certifyDue(deps: Deps, certifier: Certifier): Promise<string[]> {
  const now = deps.clock().getTime();
  const started: string[] = [];
  const endpoints = await deps.db.select().from(partnerEndpoints).where(isNotNull(partnerEndpoints.certifyEvery)).all();
  for (const endpoint of endpoints) {
    const released = await deps.db.select().from(releases).where(and(eq(releases.partner, endpoint.partner), eq(releases.environment, endpoint.environment))).orderBy(desc(releases.createdAt)).all();
    const newest = new Map<string, (typeof released)[number]>();
    for (const r of released) if (!newest.has(r.api)) newest.set(r.api, r);
    for (const release of newest.values()) {
      const last = await deps.db
        .select({ createdAt: certificationRuns.createdAt })
        .from(certificationRuns)
        .where(and(eq(certificationRuns.partner, endpoint.partner), eq(certificationRuns.api, release.api), eq(certificationRuns.environment, endpoint.environment), eq(certificationRuns.trigger, 'schedule')))
        .orderBy(desc(certificationRuns.createdAt))
        .limit(1)
        .get();
      if (last && Date.parse(last.createdAt) + durationMs(endpoint.certifyEvery!) > now) continue;
      try {
        const run = await certifier.start(SCHEDULER, { partner: endpoint.partner, api: release.api, version: release.version, environment: endpoint.environment, target: 'endpoint', seed: 1 }, 'schedule');
        started.push(run.id);
      } catch (error) {
        // A run of it is still going (started by hand, say): the next round looks again.
        if (error instanceof AccordError && error.code === 'conflict') continue;
        // Recorded as a run that ended in error, so the schedule waits its interval before trying again (and the partner sees why).
        const at = deps.clock().toISOString();
        await deps.db
          .insert(certificationRuns)
          .values({ id: `crt_${randomBytes(8).toString('hex')}`, partner: endpoint.partner, api: release.api, version: release.version, environment: endpoint.environment, target: 'endpoint', contentSha256: release.contentSha256, seed: 1, status: 'error', total: 0, done: 0, failures: 0, report: JSON.stringify({ cases: [] }), error: `could not start: ${(error as Error).message}`, trigger: 'schedule', createdAt: at, createdBy: SCHEDULER.name, heartbeatAt: at, finishedAt: at })
          .run();
        deps.logger.warn({ err: error, partner: endpoint.partner, api: release.api, version: release.version, environment: endpoint.environment }, 'scheduled certification could not start');
      }
    }
  }
  return started;
}
