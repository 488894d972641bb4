/** The registry's public shapes, shared by the local store (git-registry.ts) and the remote (remote.ts). */

/** Who a commit is attributed to. */
export interface GitAuthor {
  name: string;
  email: string;
}

/** One commit as shown by history endpoints. */
export interface HistoryEntry {
  sha: string;
  author: string;
  email: string;
  date: string;
  message: string;
}

export interface PublishRequest {
  /** Path inside the repository, forward slashes. */
  path: string;
  content: string;
  message: string;
  /** Annotated tag created on the commit. */
  tag: string;
  tagMessage: string;
  author: GitAuthor;
  /** Author, committer and tagger time. */
  at: Date;
}

/** Operations available while the registry lock is held. */
export interface RegistryTransaction {
  /**
   * Writes one file in one commit plus an annotated tag, then calls `index(commit)`. If the
   * commit, the tag or `index` fails, the tag and commit are undone and the error rethrown.
   * With a registry remote the commit and tag are pushed before `index` runs (see remote.ts).
   */
  publish<T>(request: PublishRequest, index: (commit: string) => T | Promise<T>): Promise<T>;
}

/** An audit anchor commit to write on `refs/accord/audit` (see src/audit/anchor.ts). */
export interface AuditAnchorWrite {
  /** The content of audit-anchor.json. */
  text: string;
  /** The anchor commit this one follows; undefined for the first. */
  parent: string | undefined;
  message: string;
  at: Date;
}

/** The newest audit anchor: its commit and audit-anchor.json's text (undefined if it has none). */
export interface StoredAuditAnchor {
  commit: string;
  text: string | undefined;
}
