import { looksAlike } from '../auth/skeleton.ts';

/** Who acted: a display name and, where known, the token. */
export interface Actor {
  name: string;
  token?: string;
}

/**
 * Whether two actors are the same person for separation of duties: the same token, or display
 * names that look alike (a shared identity key: case, compatibility forms, invisible characters,
 * combining marks and confusables ignored).
 */
export function sameActor(a: Actor, b: Actor): boolean {
  return (a.token !== undefined && a.token === b.token) || looksAlike(a.name, b.name);
}

/**
 * The people a change request belongs to, who may not review it: whoever opened it and whoever
 * registered the version it would release.
 */
export function changeAuthors(change: { createdBy: string; createdByToken: string }, registeredBy: string | undefined): Actor[] {
  return [{ name: change.createdBy, token: change.createdByToken }, ...(registeredBy === undefined ? [] : [{ name: registeredBy }])];
}

/**
 * The approvals that count for a change: approving reviews of its current diff by someone other
 * than its authors, one per person (look-alike names and repeated tokens count once). Returns the
 * approvers' names, first review of each person first.
 */
export function countedApprovers(authors: Actor[], diffHash: string, reviews: Array<{ reviewer: string; reviewerToken: string; decision: string; diffHash: string }>): string[] {
  const counted: Actor[] = [];
  for (const r of reviews) {
    const actor = { name: r.reviewer, token: r.reviewerToken };
    if (r.decision !== 'approve' || r.diffHash !== diffHash || authors.some((a) => sameActor(actor, a))) continue;
    if (!counted.some((c) => sameActor(c, actor))) counted.push(actor);
  }
  return counted.map((c) => c.name);
}
