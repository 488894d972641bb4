import { randomBytes } from 'node:crypto';
import { and, asc, desc, eq, inArray } from 'drizzle-orm';
import { z } from 'zod';
import type { Principal } from '../auth/principal.ts';
import type { Deps } from '../deps.ts';
import { Id, SemVer } from '../contracts/ids.ts';
import { findVersion, markContractsChanged } from '../contracts/versions.ts';
import { contractVersions, gateDecisions, notices, releases } from '../db/index.ts';
import { gatherFacts, versionLock } from '../gate/check.ts';
import { evaluateGate, type GateFacts } from '../gate/evaluate.ts';
import { AccordError } from '../errors.ts';
import { publishNotice } from '../notices/notices.ts';
import { enqueueEvent } from '../notices/webhooks.ts';
import { latestChangeFor } from './changes.ts';

const FORWARD: Record<string, number> = { draft: 0, approved: 1, released: 2, deprecated: 3, retired: 4 };

/** A release of a registered version to an environment. */
export const ReleaseRequest = z.object({ partner: Id, api: Id, environment: Id, version: SemVer }).meta({ id: 'ReleaseRequest' });

export type ReleaseRequest = z.output<typeof ReleaseRequest>;

/**
 * Records a release of a version to an environment. Accepted only when the latest gate
 * decision for that version and environment passed for exactly this content; the version's
 * state moves forward to released (never backwards). A breaking release notifies consumers.
 */
export async function recordRelease(deps: Deps, principal: Principal, input: ReleaseRequest) {
  const { partner, api, version, environment } = input;
  const row = await findVersion(deps, partner, api, version);
  if (!row) throw new AccordError('not_found', `No contract version ${partner}/${api}@${version}`);
  const decision = await deps.db
    .select()
    .from(gateDecisions)
    .where(and(eq(gateDecisions.partner, partner), eq(gateDecisions.api, api), eq(gateDecisions.version, version), eq(gateDecisions.environment, environment)))
    .orderBy(desc(gateDecisions.createdAt))
    .limit(1)
    .get();
  if (!decision || decision.verdict !== 'pass' || decision.contentSha256 !== row.sha256) {
    throw new AccordError('conflict', decision ? `The latest gate decision ${decision.id} for ${environment} is "${decision.verdict}"${decision.contentSha256 !== row.sha256 ? ' for other content' : ''}; run accord gate check until it passes` : `No gate decision for ${partner}/${api}@${version} in ${environment}; run accord gate check first`, {
      extra: decision ? { decisionId: decision.id, verdict: decision.verdict } : {},
    });
  }
  if (FORWARD[row.state]! > FORWARD.released!) throw new AccordError('conflict', `${partner}/${api}@${version} is ${row.state}; states never move backwards`);
  // A pass is only as good as the facts it saw: unless it was break-glass, the gate must still pass now.
  if (!decision.breakGlassReason) {
    const now = evaluateGate(await gatherFacts(deps, partner, api, version, environment));
    if (now.verdict !== 'pass') {
      throw new AccordError('conflict', `Decision ${decision.id} passed, but the gate now says "${now.verdict}": ${now.reasons.filter((r) => r.status !== 'met').map((r) => r.message).join('; ')}`, { extra: { decisionId: decision.id, verdict: now.verdict } });
    }
  }
  const now = deps.clock().toISOString();
  const change = await latestChangeFor(deps, partner, api, version);
  const decidedDiff = (JSON.parse(decision.inputs) as GateFacts).diff;
  const result = await deps.db.transaction(async (tx) => {
    // Under the version's lock, as gate decisions are written: the decision judged above must still be the latest, and only one release announces a breaking change.
    await tx.$serialize(versionLock(partner, api, version));
    const latest = await tx.select({ id: gateDecisions.id }).from(gateDecisions).where(and(eq(gateDecisions.partner, partner), eq(gateDecisions.api, api), eq(gateDecisions.version, version), eq(gateDecisions.environment, environment))).orderBy(desc(gateDecisions.createdAt)).limit(1).get();
    if (latest?.id !== decision.id) throw new AccordError('conflict', `A newer gate decision ${latest?.id ?? '(none)'} for ${environment} was made meanwhile; release against it`, { extra: { decisionId: latest?.id } });
    const alreadyAnnounced = await tx.select({ id: notices.id }).from(notices).where(and(eq(notices.kind, 'breaking-release'), eq(notices.partner, partner), eq(notices.api, api), eq(notices.version, version))).get();
    const release = await tx
      .insert(releases)
      .values({ id: `rel_${randomBytes(8).toString('hex')}`, partner, api, version, environment, contentSha256: row.sha256, decisionId: decision.id, createdAt: now, createdBy: principal.name })
      .returning()
      .get();
    await tx.update(contractVersions).set({ state: 'released' }).where(and(eq(contractVersions.partner, partner), eq(contractVersions.api, api), eq(contractVersions.version, version))).run();
    await enqueueEvent(tx, deps.clock(), 'release.recorded', { ...release }, 'all');
    if (decidedDiff.summary.breaking > 0 && !alreadyAnnounced) {
      await publishNotice(tx, deps, {
        kind: 'breaking-release',
        partner,
        api,
        version,
        title: `Breaking release: ${partner}/${api} ${version} in ${environment}`,
        body: `${partner}/${api} ${version} was released to ${environment} with ${decidedDiff.summary.distinct.breaking} breaking change(s)${decidedDiff.base ? ` against ${decidedDiff.base}` : ''}. ${change?.summary ?? ''}`.trim(),
      });
    }
    // In the transaction: the signal commits with the release (a failure after the commit would answer 500 to a recorded release).
    await markContractsChanged(tx);
    return { ...release, state: 'released' };
  });
  deps.logger.info({ releaseId: result.id, partner, api, version, environment, decisionId: decision.id, by: principal.name }, 'release recorded');
  return result;
}

/** When and by whom each of the given versions of an API was released to each environment, oldest first. */
export async function releasesOfVersions(deps: Pick<Deps, 'db'>, partner: string, api: string, versions: string[]) {
  if (versions.length === 0) return [];
  return await deps.db
    .select({ version: releases.version, environment: releases.environment, createdAt: releases.createdAt, createdBy: releases.createdBy })
    .from(releases)
    .where(and(eq(releases.partner, partner), eq(releases.api, api), inArray(releases.version, versions)))
    .orderBy(asc(releases.createdAt))
    .all();
}
