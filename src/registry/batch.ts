import { AccordError } from '../errors.ts';
import { BRANCH, git, publicationStream, resolveRef, runGit, tagObjectText } from './git-io.ts';
import { refFormatProblem } from './ref-format.ts';
import { TagTakenError, type RegistryRemote } from './remote.ts';
import type { PublishRequest, RegistryBatch } from './types.ts';

/**
 * A registry batch (ADR 0019): many publications that become visible together or not at all.
 *
 * Each `publish` writes its blob and commit with `git fast-import` onto a scratch ref, parented on
 * the batch's pending tip (not on main), and its annotated tag with `git mktag` — an object without
 * a ref. Then its `index` runs. Nothing a reader or another replica follows has moved. `apply` moves
 * everything at once: without a remote one `git update-ref --stdin` transaction (main from the
 * base to the tip, and every tag created); with a remote one `git push --atomic` of the tip and
 * every tag, then the same ref transaction on the local mirror. A batch that ends without `apply`
 * deletes its scratch ref and prunes what it wrote, so no object of it remains.
 */

/** The scratch ref a batch builds its commits on; outside the mirrored namespaces, removed after every batch (and at open). */
export const BATCH_REF = 'refs/accord-scratch/batch';

/** A batch's push was refused because another replica moved main or published one of its tags first: it runs again. */
export class BatchRaced extends Error {
  constructor() {
    super('another replica updated the registry remote first');
  }
}

/** How a batch runs each publication's `index` (the importer runs each in a database savepoint). */
export type IndexRunner = <T>(work: () => Promise<T>) => Promise<T>;

interface PendingTag {
  ref: string;
  /** The annotated tag object (no ref points at it until `apply`). */
  object: string;
}

/** The position to return to when a publication or a savepoint fails. */
interface Mark {
  tip: string;
  tags: number;
}

/** One batch in progress (see the comment at the top of this file). */
export class PendingBatch implements RegistryBatch {
  private current: string;
  private readonly tags: PendingTag[] = [];
  private state: 'open' | 'applied' | 'closed' = 'open';
  /** Whether any object was written, and whether any was dropped again (the batch prunes what no ref reaches when it ends). */
  private wrote = false;
  private dropped = false;

  /**
   * @param dir the local bare repository
   * @param base the commit main points at when the batch starts; `apply` moves main only from there
   * @param remote the registry remote, if any
   * @param runIndex runs each publication's `index`
   */
  constructor(
    private readonly dir: string,
    readonly base: string,
    private readonly remote: RegistryRemote | undefined,
    private readonly runIndex: IndexRunner,
  ) {
    this.current = base;
  }

  /** The pending tip: the last commit of the batch, or its base. */
  get tip(): string {
    return this.current;
  }

  get applied(): boolean {
    return this.state === 'applied';
  }

  async publish<T>(request: PublishRequest, index: (commit: string) => T | Promise<T>): Promise<T> {
    this.assertOpen();
    const ref = `refs/tags/${request.tag}`;
    const problem = refFormatProblem(ref);
    if (problem) throw new AccordError('invalid_document', `Tag "${request.tag}" cannot be a Git reference: it ${problem}`, { errors: [{ location: '', message: `tag ${problem}` }] });
    if (this.tags.some((t) => t.ref === ref)) throw new AccordError('conflict', `${request.tag} is published twice in one batch`);
    const existing = await resolveRef(this.dir, ref);
    if (existing) return await this.adopt(request, existing, index);
    const mark = this.mark();
    this.wrote = true;
    // --force: after a dropped publication the scratch ref moves back, which fast-import refuses by default.
    const commit = (await git(this.dir, ['fast-import', '--quiet', '--force'], { input: publicationStream(request, BATCH_REF, this.current, { reset: true, tag: false }) })).trim();
    const object = (await git(this.dir, ['mktag'], { input: tagObjectText(request, commit) })).trim();
    this.current = commit;
    this.tags.push({ ref, object });
    try {
      return await this.runIndex(async () => await index(commit));
    } catch (error) {
      this.restore(mark);
      throw error;
    }
  }

  /**
   * A tag that exists already. With a remote it came from another replica (fetched): identical
   * content is adopted as a single publication adopts it (its `index` runs with that commit), other
   * content is a TagTakenError. Without a remote an existing tag is always indexed, so the caller
   * found no row only if the tag was left by a crash: refused.
   */
  private async adopt<T>(request: PublishRequest, commit: string, index: (commit: string) => T | Promise<T>): Promise<T> {
    if (!this.remote) throw new AccordError('conflict', `${request.tag} is already in the registry but not indexed; restart Accord to recover the registry`);
    const blob = await runGit(this.dir, ['cat-file', 'blob', `${commit}:${request.path}`]);
    if (blob.code !== 0 || blob.stdout !== request.content) throw new TagTakenError(request.tag, commit);
    return await this.runIndex(async () => await index(commit));
  }

  async savepoint<T>(work: () => Promise<T>): Promise<T> {
    this.assertOpen();
    const mark = this.mark();
    try {
      return await work();
    } catch (error) {
      this.restore(mark);
      throw error;
    }
  }

  async apply(): Promise<void> {
    this.assertOpen();
    if (this.tags.length > 0) {
      if (this.remote) {
        if ((await this.remote.pushBatch({ base: this.base, tip: this.current, tags: this.tags })) === 'raced') throw new BatchRaced();
      } else {
        // All or nothing: update-ref --stdin locks every ref first, checks main's old value, then moves them all.
        await git(this.dir, ['update-ref', '--stdin'], { input: [`update ${BRANCH} ${this.current} ${this.base}`, ...this.tags.map((t) => `create ${t.ref} ${t.object}`), ''].join('\n') });
      }
    }
    this.state = 'applied';
  }

  /**
   * Takes an applied batch back after what followed `apply` failed (the database commit): without a
   * remote, main returns to the base and the tags go. A push cannot be taken back (another replica
   * may already build on it): its versions stay on the remote, and in the mirror, unindexed, as
   * when a replica stops between its push and its insert (see remote.ts).
   */
  async undo(): Promise<void> {
    if (this.state !== 'applied') return;
    this.state = 'open';
    if (this.remote || this.tags.length === 0) return;
    await git(this.dir, ['update-ref', '--stdin'], { input: [`update ${BRANCH} ${this.base} ${this.current}`, ...this.tags.map((t) => `delete ${t.ref} ${t.object}`), ''].join('\n') });
  }

  /** Ends the batch: drops the scratch ref and every object it wrote that no ref reaches (all of them, unless applied). */
  async close(): Promise<void> {
    if (this.state === 'closed') return;
    const applied = this.state === 'applied';
    this.state = 'closed';
    if (!this.wrote) return;
    await runGit(this.dir, ['update-ref', '-d', BATCH_REF]);
    if (applied && !this.dropped) return;
    if (this.remote) await this.remote.pruneUnpushed();
    else await runGit(this.dir, ['prune', '--expire=now']);
  }

  private assertOpen(): void {
    if (this.state !== 'open') throw new Error(`registry batch already ${this.state}`);
  }

  private mark(): Mark {
    return { tip: this.current, tags: this.tags.length };
  }

  private restore(mark: Mark): void {
    if (this.tags.length > mark.tags) this.dropped = true;
    this.current = mark.tip;
    this.tags.length = mark.tags;
  }
}
