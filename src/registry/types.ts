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

/**
 * One update of the registry made of many publications (see batch.ts): each `publish` builds its
 * commit on the pending tip and its tag apart, moving no ref, then runs its `index`; `apply` moves
 * main and creates every tag at once. Without `apply` nothing of it becomes reachable.
 */
export interface RegistryBatch extends RegistryTransaction {
  /** Runs `work`; when it throws, what it published in this batch is dropped again (pair it with a database savepoint). */
  savepoint<T>(work: () => Promise<T>): Promise<T>;
  /**
   * Moves main to the pending tip and creates every pending tag in one ref transaction (with a
   * registry remote: one atomic push, then the local mirror). Call it last, inside the database
   * transaction that holds the index rows, so that a failed push rolls them back.
   */
  apply(): Promise<void>;
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
