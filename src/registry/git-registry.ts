import { AsyncLocalStorage } from 'node:async_hooks';
import fs from 'node:fs/promises';
import path from 'node:path';
import { simpleGit, type SimpleGit } from 'simple-git';
import { AccordError } from '../errors.ts';
import { BATCH_REF, BatchRaced, PendingBatch, type IndexRunner } from './batch.ts';
import { AUDIT_REF, BRANCH, anchorStream, initialCommitStream, publicationStream, readAnchorIn, resolveRef, runGit } from './git-io.ts';
import { refFormatProblem } from './ref-format.ts';
import { RACE_BUDGET_MS, readRemoteAuditAnchor, RegistryRemote } from './remote.ts';
import type { AuditAnchorWrite, HistoryEntry, PublishRequest, RegistryBatch, RegistryTransaction, StoredAuditAnchor } from './types.ts';

export type { AuditAnchorWrite, GitAuthor, HistoryEntry, PublishRequest, RegistryBatch, RegistryTransaction, StoredAuditAnchor } from './types.ts';

const FIELD = '\x1f';
const RECORD = '\x1e';

/** The batch the current async context runs in, and its registry's directory: `transaction` there joins it instead of queueing behind it. */
const batchScope = new AsyncLocalStorage<{ dir: string; batch: PendingBatch }>();

/** How a registry with a remote (ACCORD_REGISTRY_REMOTE) talks to it. */
export interface RemoteOptions {
  /** The remote bare repository: a path, a file:// URL or any URL git accepts; '' or undefined = none. */
  remote?: string | undefined;
  /** History reads fetch from the remote when the last fetch is older than this (ms; default 1000). */
  fetchIntervalMs?: number;
}

/**
 * The bare Git repository behind the registry. Each publication is one `git fast-import` run
 * that writes the blob, the commit on main and the annotated tag together. Writes go through
 * `transaction`, which serialises callers so that git never meets its own lock. With a remote
 * (see remote.ts) this repository mirrors the remote, which is the registry of record.
 */
export class GitRegistry {
  readonly dir: string;
  /** Whether this open created the repository (a new data dir; with a remote: the remote holds nothing but its first commit). */
  created = false;
  /** The registry of record when ACCORD_REGISTRY_REMOTE is set. */
  private remote: RegistryRemote | undefined;
  private readonly git: SimpleGit;
  private queue: Promise<unknown> = Promise.resolve();
  /** The tip of main; only publish and recovery move it, under the lock. */
  private head = '';
  /** stdin for the next fast-import run (simple-git asks for it per command). */
  private stdin: string | undefined;

  private constructor(dir: string) {
    this.dir = dir;
    this.git = simpleGit({
      baseDir: dir,
      maxConcurrentProcesses: 4,
      input: (commands: readonly string[]) => (commands.includes('fast-import') ? this.stdin : undefined),
    });
  }

  /**
   * Opens the repository at `dir`, creating it (with an initial commit) if needed, and undoes
   * what a crash may have left half-done: a newest commit whose tag the index does not know
   * (`isIndexed(tag)` false). With `remote`, then joins the remote (see `RegistryRemote.attach`):
   * a new data dir gets everything the remote holds.
   */
  static async open(
    dir: string,
    isIndexed: (tag: string) => Promise<boolean> | boolean = () => true,
    { durability = 'normal', remote, fetchIntervalMs }: { durability?: 'normal' | 'full' } & RemoteOptions = {},
  ): Promise<GitRegistry> {
    await fs.mkdir(dir, { recursive: true });
    const registry = new GitRegistry(dir);
    const exists = await fs.stat(path.join(dir, 'HEAD')).then(
      () => true,
      () => false,
    );
    if (!exists) await registry.git.raw(['init', '--bare', '--initial-branch=main']);
    registry.created = !exists;
    // ACCORD_DURABILITY=full: objects and refs are fsynced like SQLite's commits (ADR 0012).
    if (durability === 'full') await registry.git.raw(['config', 'core.fsync', 'committed']);
    else await registry.git.raw(['config', '--unset-all', 'core.fsync']).catch(() => undefined);
    // With a remote, a new data dir takes the remote's first commit instead of making its own.
    if (!exists && !remote) registry.head = await registry.fastImport(initialCommitStream(new Date()));
    if (await resolveRef(dir, BRANCH)) await registry.recover(isIndexed);
    if (remote) {
      registry.remote = new RegistryRemote(dir, remote, { fetchIntervalMs });
      registry.created = await registry.remote.attach();
    }
    return registry;
  }

  /** Runs one fast-import stream and returns what it printed (the marks asked for). */
  private async fastImport(stream: string): Promise<string> {
    this.stdin = stream;
    try {
      return (await this.git.raw(['fast-import', '--quiet'])).trim();
    } finally {
      this.stdin = undefined;
    }
  }

  private async recover(isIndexed: (tag: string) => Promise<boolean> | boolean): Promise<void> {
    // A batch cut short leaves its scratch ref (and what only it reaches, pruned by the next failed write).
    await runGit(this.dir, ['update-ref', '-d', BATCH_REF]);
    // A crash between moving the refs and the index insert can only leave the newest commits
    // unindexed: one of a publication, or the last ones of a batch.
    for (;;) {
      const decorations = await this.git.raw(['log', '-1', '--decorate=full', '--format=%H %D', BRANCH]);
      const tags = [...decorations.matchAll(/tag: refs\/tags\/([^,\s]+)/g)].map((m) => m[1]!);
      const orphans: string[] = [];
      for (const t of tags) if (!(await isIndexed(t))) orphans.push(t);
      if (orphans.length === 0) break;
      for (const t of orphans) await this.git.raw(['tag', '-d', t]);
      if (tags.length === orphans.length) await this.git.raw(['update-ref', BRANCH, `${BRANCH}~1`]);
    }
    this.head = (await this.git.raw(['rev-parse', BRANCH])).trim();
  }

  private async publishRemote<T>(request: PublishRequest, index: (commit: string) => T | Promise<T>): Promise<T> {
    checkTag(request.tag);
    return this.remote!.publish(request, index);
  }

  /**
   * Runs `fn` with the registry lock held; callers queue in order. Inside a `batch` (this async
   * context runs in one) it runs at once as part of the batch: its publications are the batch's.
   */
  transaction<T>(fn: (tx: RegistryTransaction) => Promise<T>): Promise<T> {
    const scope = batchScope.getStore();
    if (scope?.dir === this.dir) return fn(scope.batch);
    const run = this.queue.then(() => fn({ publish: (request, index) => (this.remote ? this.publishRemote(request, index) : this.publish(request, index)) }));
    this.queue = run.catch(() => undefined);
    return run;
  }

  /**
   * Runs `fn` as ONE update of the registry, with the registry lock held (see batch.ts and ADR
   * 0019): every publication inside it — through `batch.publish`, or through `transaction` called
   * by anything `fn` calls — stays pending until `fn` calls `batch.apply()`, which moves main and
   * every tag at once; if `fn` returns without it, or throws, no ref has moved and nothing of the
   * batch remains. If `fn` throws after `apply` (its database commit failed), the refs move back
   * (not on a remote: a push is final). `index` runs each publication's index callback (e.g. in a
   * database savepoint). With a registry remote `fn` runs again, on the remote's new tip, when
   * another replica updated the remote first, for up to RACE_BUDGET_MS; so it must be repeatable.
   */
  batch<T>(fn: (batch: RegistryBatch) => Promise<T>, { index = (work) => work() }: { index?: IndexRunner } = {}): Promise<T> {
    const run = this.queue.then(() => this.runBatch(fn, index));
    this.queue = run.catch(() => undefined);
    return run;
  }

  private async runBatch<T>(fn: (batch: RegistryBatch) => Promise<T>, index: IndexRunner): Promise<T> {
    const deadline = Date.now() + RACE_BUDGET_MS;
    for (;;) {
      // Built on the remote's tip as of now: a stale mirror would only lose the race at the push.
      await this.remote?.refresh();
      const base = this.remote ? await resolveRef(this.dir, BRANCH) : this.head;
      const batch = new PendingBatch(this.dir, base!, this.remote, index);
      try {
        const result = await batchScope.run({ dir: this.dir, batch }, () => fn(batch));
        if (batch.applied && !this.remote) this.head = batch.tip;
        return result;
      } catch (error) {
        // Should even taking the refs back fail, the head follows main: recovery at the next open trims what is unindexed.
        await batch.undo().catch(() => {
          if (!this.remote) this.head = batch.tip;
        });
        if (!(error instanceof BatchRaced)) throw error;
        if (Date.now() >= deadline) throw new AccordError('unavailable', `The registry remote's main kept moving: the batch was not published within ${RACE_BUDGET_MS / 1000} s; try again`, { retryAfterSeconds: 1 });
      } finally {
        await batch.close();
      }
    }
  }

  private async publish<T>(request: PublishRequest, index: (commit: string) => T | Promise<T>): Promise<T> {
    checkTag(request.tag);
    const previous = this.head;
    try {
      const commit = await this.fastImport(publicationStream(request, BRANCH, previous));
      const result = await index(commit);
      this.head = commit;
      return result;
    } catch (error) {
      // fast-import may have moved the refs before failing, or index() failed after it: undo both.
      await this.git.raw(['tag', '-d', request.tag]).catch(() => undefined);
      await this.git.raw(['update-ref', BRANCH, previous]).catch(() => undefined);
      // Drop the now unreachable blob, trees and commit so no orphan objects remain.
      await this.git.raw(['prune', '--expire=now']).catch(() => undefined);
      throw error;
    }
  }

  /**
   * Commits `text` as audit-anchor.json on refs/accord/audit (its own history, not main, no tag),
   * serialised with publications. Fails, moving nothing, unless the ref still points at `parent`
   * (fast-import refuses an update that does not contain the current tip).
   */
  writeAuditAnchor(request: AuditAnchorWrite): Promise<string> {
    const run = this.queue.then(async () => {
      if (this.remote) return this.remote.writeAuditAnchor(request);
      const tip = await resolveRef(this.dir, AUDIT_REF);
      if (tip !== request.parent) throw new AccordError('conflict', `${AUDIT_REF} is at ${tip ?? 'nothing'}, expected ${request.parent ?? 'nothing'}`);
      return this.fastImport(anchorStream(request, AUDIT_REF));
    });
    this.queue = run.catch(() => undefined);
    return run;
  }

  /** The newest audit anchor: its commit and audit-anchor.json's text (undefined if it has none); undefined when the ref does not exist. */
  async readAuditAnchor(): Promise<StoredAuditAnchor | undefined> {
    // Always the remote's current anchor: an anchor written over a stale one is refused anyway.
    await this.remote?.refresh();
    return readAnchorIn(this.dir);
  }

  /**
   * Whether the anchor commit `newer` descends from `older` (any anchor follows none): how a replica
   * tells another replica's anchor over its own from a rollback. Without a remote nothing else writes
   * anchors, so the answer is always false.
   */
  async auditAnchorFollows(older: string | undefined, newer: string): Promise<boolean> {
    if (!this.remote) return false;
    return older === undefined || (older !== newer && (await this.git.raw(['merge-base', '--is-ancestor', older, newer]).then(() => true, () => false)));
  }

  /**
   * Like `readAuditAnchor`, on the bare repository at `dir` without opening (or creating) it;
   * undefined when there is none. With `remote` (ACCORD_REGISTRY_REMOTE), the remote's anchor: it is the record.
   */
  static async readAuditAnchorAt(dir: string, remote?: string): Promise<StoredAuditAnchor | undefined> {
    if (remote) return readRemoteAuditAnchor(remote);
    const exists = await fs.stat(path.join(dir, 'HEAD')).then(
      () => true,
      () => false,
    );
    return exists ? readAnchorIn(dir) : undefined;
  }

  /** Commits on main that touched `prefix` (a folder path inside the repository), newest first. */
  async history(prefix: string): Promise<HistoryEntry[]> {
    // An unreachable remote leaves the history as of the last fetch: still true, only shorter.
    await this.remote?.refreshIfStale().catch(() => undefined);
    const out = await this.git.raw(['log', `--format=%H${FIELD}%an${FIELD}%ae${FIELD}%aI${FIELD}%B${RECORD}`, BRANCH, '--', prefix]);
    return out
      .split(RECORD)
      .map((r) => r.trim())
      .filter(Boolean)
      .map((r) => {
        const [sha = '', author = '', email = '', date = '', message = ''] = r.split(FIELD);
        return { sha, author, email, date, message: message.trim() };
      });
  }

  /** Reads a file as committed in `commit`. */
  async read(commit: string, relPath: string): Promise<string> {
    try {
      return await this.git.raw(['cat-file', 'blob', `${commit}:${relPath}`]);
    } catch (error) {
      // Another replica may have pushed it since the last fetch.
      if (this.remote) {
        await this.remote.refresh();
        const again = await this.git.raw(['cat-file', 'blob', `${commit}:${relPath}`]).catch(() => undefined);
        if (again !== undefined) return again;
      }
      throw new AccordError('not_found', `${relPath} is not in the registry at ${commit}`, { cause: error });
    }
  }

  /** Cheap liveness probe for /readyz. */
  async ping(): Promise<void> {
    await this.git.raw(['rev-parse', '--verify', BRANCH]);
  }
}

function checkTag(tag: string): void {
  const problem = refFormatProblem(`refs/tags/${tag}`);
  if (problem) throw new AccordError('invalid_document', `Tag "${tag}" cannot be a Git reference: it ${problem}`, { errors: [{ location: '', message: `tag ${problem}` }] });
}
