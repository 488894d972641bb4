import { oneLine } from '../../lib/text.ts';
import { segment, sendJson } from '../client.ts';
import type { Command, CommandArgs, CommandContext } from '../command.ts';
import { usageFailure } from '../errors.ts';

/** What POST /v1/changes/{id}/reviews answers, as far as the text reads it. */
interface Review {
  id: string;
  changeId: string;
  decision: 'approve' | 'reject';
  comment: string;
  diffHash: string;
  reviewer: string;
}

/** The text after a review: what was recorded, by whom, for which diff, and what follows. */
function reviewText(r: Review): string {
  const lines =
    r.decision === 'approve'
      ? [`Approved change request ${r.changeId} as ${r.reviewer} (review ${r.id}, for diff ${r.diffHash.slice(0, 12)}).`, `Next: see what it still needs: accord change show ${r.changeId}`]
      : [
          `Rejected change request ${r.changeId} as ${r.reviewer} (review ${r.id}, for diff ${r.diffHash.slice(0, 12)}): "${r.comment}".`,
          'The release gate fails for this diff; the author addresses the rejection in a new version and a new change request.',
        ];
  return lines.map(oneLine).join('\n');
}

/** Records an approval or a rejection of change request <id>. */
async function review(command: Command, decision: Review['decision'], { values, positionals }: CommandArgs, { config, print }: CommandContext): Promise<number> {
  if (positionals.length !== 1) throw usageFailure(command);
  const comment = typeof values.comment === 'string' ? values.comment : undefined;
  if (decision === 'reject' && !comment?.trim()) throw usageFailure(command, 'Missing --comment: say why the change is rejected');
  const result = await sendJson(config, 'POST', `/v1/changes/${segment(positionals[0])}/reviews`, { decision, ...(comment !== undefined ? { comment } : {}) });
  print(result.json as Review, reviewText);
  return 0;
}

const REVIEW_RULES = `ACCORD_TOKEN: approver or admin. Whoever opened the change request or registered its version
(same token, or a name that looks like theirs) may not review it (refused, exit 1). The review is
bound to the diff the change would ship now: if that diff changes, it no longer counts.`;

/** `accord review approve`: approves a change request (POST /v1/changes/{id}/reviews). */
export const reviewApprove: Command = {
  name: 'review approve',
  synopsis: 'accord review approve <id> [--comment TEXT]',
  summary: 'approve a change request (not your own)',
  help: `accord review approve <id> [--comment TEXT] [--format text|json]

Approves change request <id>. ${REVIEW_RULES}
Enough approvals move a draft version to approved. Exit 0 recorded, 1 refused (no such change
request, your own change, forbidden), 3 could not run.`,
  options: { comment: { type: 'string' } },
  run: (args, context) => review(reviewApprove, 'approve', args, context),
};

/** `accord review reject`: rejects a change request, saying why (POST /v1/changes/{id}/reviews). */
export const reviewReject: Command = {
  name: 'review reject',
  synopsis: 'accord review reject <id> --comment TEXT',
  summary: 'reject a change request, saying why',
  help: `accord review reject <id> --comment TEXT [--format text|json]

Rejects change request <id>; --comment says why (required). ${REVIEW_RULES}
A rejection stands: the gate fails for that diff, and a new change request for the same diff is
refused. Exit 0 recorded, 1 refused, 3 could not run (including a missing --comment).`,
  options: { comment: { type: 'string' } },
  run: (args, context) => review(reviewReject, 'reject', args, context),
};
