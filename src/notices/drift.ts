/**
 * Whether a failing check is new drift after a release: the release exists, and the check had
 * not failed since it (none before, the previous one passed, or the previous one predates the
 * release). Synthetic checks and partner certifications raise their drift notice on this, once.
 */
export function newDriftAfterRelease(release: { createdAt: string } | undefined, previous: { passed: boolean; createdAt: string } | undefined): boolean {
  return release !== undefined && (!previous || previous.passed || previous.createdAt < release.createdAt);
}
