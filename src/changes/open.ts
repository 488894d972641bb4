import type { Principal } from '../auth/principal.ts';
import type { Deps } from '../deps.ts';
import { changeRequests, type Db } from '../db/index.ts';
import { absoluteUrl } from '../lib/public-url.ts';
import { publishNotice } from '../notices/notices.ts';
import { enqueueEvent } from '../notices/webhooks.ts';
import { prepareChange, type ChangeRequest, type ChangeRow } from './changes.ts';
import type { ChangeImpact } from './impact.ts';

type Tx = Parameters<Parameters<Db['transaction']>[0]>[0];

/** The webhook event an affected consumer gets when a change request asks for its acknowledgement. */
export const ACKNOWLEDGEMENT_REQUESTED = 'change.acknowledgement-requested';

/**
 * Opens a change request (see prepareChange) and, when its policy asks acknowledgements, tells
 * every consumer in the same transaction: an affected one gets an `acknowledgement-requested`
 * notice and a `change.acknowledgement-requested` event, an unaffected one a `change-unaffected`
 * notice and no ask.
 */
export async function createChange(deps: Deps, principal: Principal, input: ChangeRequest): Promise<ChangeRow> {
  const { values, impact, acksAsked } = await prepareChange(deps, principal, input);
  return await deps.db.transaction(async (tx) => {
    const change = await tx.insert(changeRequests).values(values).returning().get();
    if (acksAsked) await tellConsumers(tx, deps, change, impact);
    return change;
  });
}

/** The notices and events of a change request that asks acknowledgements, one per consumer. */
async function tellConsumers(tx: Tx, deps: Pick<Deps, 'db' | 'clock' | 'config'>, change: ChangeRow, impact: ChangeImpact): Promise<void> {
  const { id, partner, api, version } = change;
  const ref = `${partner}/${api}@${version}`;
  for (const entry of impact.consumers) {
    const { consumer, reason } = entry;
    if (!entry.affected) {
      await publishNotice(tx, deps, {
        kind: 'change-unaffected',
        partner,
        api,
        version,
        title: `${ref}: change request ${id} does not touch what ${consumer} uses`,
        body: `Change request ${id} for ${ref} ("${change.summary}") was opened. ${consumer} ${reason}; no acknowledgement is asked of it. The change: GET /v1/changes/${id}.`,
      }, { audience: [consumer] });
      continue;
    }
    await askAcknowledgement(tx, deps, change, consumer, {
      title: `${ref}: ${consumer} is asked to acknowledge change request ${id}`,
      body: `Change request ${id} for ${ref} ("${change.summary}") affects ${consumer}: ${reason}. Read what touches you (GET /v1/changes/${id}/diff) and acknowledge it (POST /v1/changes/${id}/acknowledgements).`,
      event: { reason, usage: entry.usage, touched: entry.touched, findings: entry.findings.length + entry.moreFindings },
    });
  }
}

/**
 * Asks one consumer to acknowledge a change request: an `acknowledgement-requested` notice for it
 * and a `change.acknowledgement-requested` event (the change's facts, its links and `event`'s
 * fields), in the caller's transaction.
 */
export async function askAcknowledgement(
  tx: Tx,
  deps: Pick<Deps, 'db' | 'clock' | 'config'>,
  change: ChangeRow,
  consumer: string,
  ask: { title: string; body: string; event: Record<string, unknown> },
): Promise<void> {
  const { id, partner, api, version } = change;
  const noticeId = await publishNotice(tx, deps, { kind: 'acknowledgement-requested', partner, api, version, title: ask.title, body: ask.body }, { audience: [consumer] });
  const links = { change: absoluteUrl(deps.config, `/v1/changes/${id}`), diff: absoluteUrl(deps.config, `/v1/changes/${id}/diff`), acknowledge: absoluteUrl(deps.config, `/v1/changes/${id}/acknowledgements`) };
  await enqueueEvent(tx, deps.clock(), ACKNOWLEDGEMENT_REQUESTED, { changeId: id, partner, api, version, breaking: change.breaking, summary: change.summary, consumer, ...ask.event, noticeId, links }, [consumer]);
}
