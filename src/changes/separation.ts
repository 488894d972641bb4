import { identityKey } from '../auth/skeleton.ts';

/** Who acted: the token (an identity) and its display name. */
export interface Actor {
  name: string;
  token: string;
}

/**
 * Whether two actors are the same person for separation of duties: the same token, or display
 * names that look alike (same identity key: case, compatibility forms and confusables ignored).
 */
export function sameActor(a: Actor, b: Actor): boolean {
  return a.token === b.token || identityKey(a.name) === identityKey(b.name);
}

/**
 * The approvals that count for a change: approving reviews of its current diff by someone other
 * than its author, one per person (look-alike names and repeated tokens count once). Returns the
 * approvers' names, first review of each person first.
 */
export function countedApprovers(change: { createdBy: string; createdByToken: string; diffHash: string }, reviews: Array<{ reviewer: string; reviewerToken: string; decision: string; diffHash: string }>): string[] {
  const author = { name: change.createdBy, token: change.createdByToken };
  const counted: Actor[] = [];
  for (const r of reviews) {
    const actor = { name: r.reviewer, token: r.reviewerToken };
    if (r.decision !== 'approve' || r.diffHash !== change.diffHash || sameActor(actor, author)) continue;
    if (!counted.some((c) => sameActor(c, actor))) counted.push(actor);
  }
  return counted.map((c) => c.name);
}
