import fs from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { AccordError } from '../errors.ts';
import { AUDIT_REF, BRANCH, anchorStream, git, initialCommitStream, publicationStream, readAnchorIn, resolveRef, runGit, type GitRun } from './git-io.ts';
import type { AuditAnchorWrite, PublishRequest, StoredAuditAnchor } from './types.ts';

/**
 * ACCORD_REGISTRY_REMOTE: a bare Git repository that is the registry of record for every replica.
 *
 * Each replica keeps its local bare repository in its data dir as a mirror of the remote:
 * `refs/heads/main`, the tags and `refs/accord/*` only ever point where the remote's do (or did).
 * A publication is built locally on the mirrored tip, on a scratch ref, and pushed with
 * `git push --atomic <remote> <commit>:refs/heads/main refs/tags/<tag>`: the remote takes commit
 * and tag together or neither. Only then does the caller's `index` run, so a version is in the
 * database only once the remote has it. A rejected push is undone locally, the remote fetched,
 * and then either the tag exists there (someone published this version: see below), or main
 * moved (re-create the commit on the new tip and push again, for up to RACE_BUDGET_MS), or the
 * remote refused for another reason (503).
 *
 * A tag that is on the remote but has no index row (another replica is between its push and its
 * insert, or stopped there for good) is authoritative: the remote is the record and tags are
 * immutable. Publishing the same tag again with identical content adopts it — `index` runs with
 * the remote's commit, so the version becomes indexed (a unique violation there means the other
 * replica indexed it first; callers answer 200) — and different content is a `TagTakenError`
 * (409). So a crash between push and index never makes a version unregistrable: the next
 * registration of it indexes it or is told what the record holds. (Control-matrix versions are
 * numbered by Accord, not by the caller: a put that meets a taken number moves above it and leaves
 * the unindexed one as a gap; see src/matrix/store.ts.)
 *
 * Locking: the caller's registry queue serialises publications in this process as without a
 * remote; in addition every command that moves local refs (publish, anchor, fetch) runs under
 * `locked`, so a fetch started by a read (fetch on miss) never interleaves with a publication.
 * Across processes the remote's own ref locks decide: a push names the old value it expects.
 *
 * A registry batch (batch.ts, ADR 0019) builds many commits and tags locally and pushes them all
 * in one `git push --atomic` (`pushBatch`); a lost race there makes the whole batch run again.
 */

/** Scratch refs outside the mirrored namespaces; removed after each use and at open. */
const SCRATCH = 'refs/accord-scratch';
const PENDING_PUBLISH = `${SCRATCH}/publish`;
const PENDING_AUDIT = `${SCRATCH}/audit`;
/** What a fetch mirrors: the remote is authoritative for every one of these refs. */
const MIRROR = [`+${BRANCH}:${BRANCH}`, '+refs/tags/*:refs/tags/*', '+refs/accord/*:refs/accord/*'];
/**
 * How long a publication keeps retrying while other replicas' pushes keep moving main (then 503).
 * A time budget, not a count: a replica with a queue of publications wins several rounds in a row
 * (its next push needs no fetch), and every lost round means another publication landed.
 */
export const RACE_BUDGET_MS = 30_000;
/** Joining the remote at open retries a refused push this often (another replica may be initialising it). */
const JOIN_ATTEMPTS = 5;

/** The remote as git should see it: URLs and scp-like `host:path` as given, other paths made absolute. */
function remoteLocation(raw: string): string {
  if (/^[A-Za-z][A-Za-z0-9+.-]*:\/\//.test(raw) || /^[^/\\]{2,}:/.test(raw)) return raw;
  return path.resolve(raw);
}

/** Git's message without credentials a URL might carry (it can reach a problem body). */
function scrubbed(text: string): string {
  return text.replace(/(\w+:\/\/)[^/@\s]+@/g, '$1***@').trim();
}

function remoteFailure(what: string, run: GitRun): AccordError {
  const lines = scrubbed(run.stderr || run.stdout).split('\n').filter(Boolean);
  return new AccordError('unavailable', `${what}: ${lines.slice(-3).join(' / ') || `git exit code ${run.code}`}`, { retryAfterSeconds: 5 });
}

/** The remote already holds this tag with different content (versions are immutable there). */
export class TagTakenError extends AccordError {
  readonly tag: string;
  /** The commit the remote's tag names. */
  readonly commit: string;

  constructor(tag: string, commit: string) {
    super('conflict', `${tag} is already in the registry remote with different content`, { extra: { tag, commit } });
    this.tag = tag;
    this.commit = commit;
  }
}

type Attempt = { commit: string } | { taken: string } | { moved: true };

/** The registry remote of one local bare repository (see the comment at the top of this file). */
export class RegistryRemote {
  readonly url: string;
  private readonly dir: string;
  private readonly fetchIntervalMs: number;
  private lock: Promise<unknown> = Promise.resolve();
  /** A fetch waiting for the lock: later callers join it (it will see what they need). */
  private queuedFetch: Promise<void> | undefined;
  private fetchedAt = 0;

  /**
   * @param dir the local bare repository
   * @param url the remote (see `remoteLocation`)
   * @param fetchIntervalMs history reads fetch when the last fetch is older than this
   */
  constructor(dir: string, url: string, { fetchIntervalMs = 1000 }: { fetchIntervalMs?: number } = {}) {
    this.dir = dir;
    this.url = remoteLocation(url);
    this.fetchIntervalMs = fetchIntervalMs;
  }

  private locked<T>(fn: () => Promise<T>): Promise<T> {
    const run = this.lock.then(fn);
    this.lock = run.catch(() => undefined);
    return run;
  }

  private push(refspecs: string[], options: string[] = []): Promise<GitRun> {
    return runGit(this.dir, ['push', '--atomic', '--porcelain', ...options, this.url, ...refspecs]);
  }

  private async fetchNow(refspecs = MIRROR): Promise<void> {
    // A failed attempt counts too: while the remote is down, history reads serve the last fetch at once instead of each waiting for git to give up.
    if (refspecs === MIRROR) this.fetchedAt = Date.now();
    const run = await runGit(this.dir, ['fetch', '--quiet', '--no-tags', '--update-head-ok', this.url, ...refspecs]);
    if (run.code !== 0) throw remoteFailure('Cannot fetch from the registry remote', run);
  }

  /** Fetches the remote's main, tags and anchor into the local mirror (concurrent callers share one fetch). */
  refresh(): Promise<void> {
    this.queuedFetch ??= this.locked(async () => {
      this.queuedFetch = undefined;
      await this.fetchNow();
    });
    return this.queuedFetch;
  }

  /** `refresh`, unless the last fetch started less than `fetchIntervalMs` ago. */
  async refreshIfStale(): Promise<void> {
    if (Date.now() - this.fetchedAt >= this.fetchIntervalMs) await this.refresh();
  }

  /**
   * Joins the local repository (new, or the data dir's until now) to the remote at open: an empty
   * remote gets the local history (a new registry's first commit, or an embedded registry being
   * moved to a remote); a local history the remote contains is replaced by the remote's; a local
   * history that contains the remote's (an embedded registry that went on alone) is pushed; two
   * different histories refuse to start. Returns whether the registry of record is new (only its
   * first commit: no version, no audit anchor), which the audit chain's first start needs.
   */
  attach(): Promise<boolean> {
    return this.locked(async () => {
      await this.dropLeftovers();
      // A refused push is retried: another replica may have initialised the remote meanwhile.
      for (let attempt = 1; ; attempt++) {
        const refused = await this.join();
        if (!refused) break;
        if (attempt >= JOIN_ATTEMPTS) throw remoteFailure(`The registry remote ${scrubbed(this.url)} refused this replica's registry`, refused);
        await sleep(Math.random() * 20 * attempt);
      }
      await this.fetchNow();
      const tags = await git(this.dir, ['for-each-ref', '--count=1', 'refs/tags']);
      const firstOnly = (await git(this.dir, ['rev-list', '--count', '--max-count=2', BRANCH])).trim() === '1';
      return firstOnly && tags.trim() === '' && !(await resolveRef(this.dir, AUDIT_REF));
    });
  }

  /** Removes what a publication or anchor cut short may have left: scratch refs and tags main does not contain. */
  private async dropLeftovers(): Promise<void> {
    await this.dropScratch();
    const main = await resolveRef(this.dir, BRANCH);
    const stray = (await git(this.dir, main ? ['tag', '--list', '--no-merged', BRANCH] : ['tag', '--list'])).split('\n').filter(Boolean);
    if (stray.length > 0) await git(this.dir, ['tag', '-d', ...stray]);
  }

  private async dropScratch(): Promise<void> {
    const scratch = (await git(this.dir, ['for-each-ref', '--format=delete %(refname)', SCRATCH])).trim();
    if (scratch) await git(this.dir, ['update-ref', '--stdin'], { input: `${scratch}\n` });
  }

  /** One attempt at `attach`'s join: undefined when joined, else the push the remote refused. */
  private async join(): Promise<GitRun | undefined> {
    const seen = `${SCRATCH}/remote`;
    await this.fetchNow([`+refs/heads/*:${seen}/heads/*`, `+refs/accord/*:${seen}/accord/*`]);
    const remoteMain = await resolveRef(this.dir, `${seen}/heads/main`);
    const remoteAnchor = await resolveRef(this.dir, `${seen}/accord/audit`);
    try {
      let local = await resolveRef(this.dir, BRANCH);
      const localAnchor = await resolveRef(this.dir, AUDIT_REF);
      const refspecs: string[] = [];
      const options: string[] = [];
      if (!remoteMain) {
        local ??= (await git(this.dir, ['fast-import', '--quiet'], { input: initialCommitStream(new Date()) })).trim();
        refspecs.push(`${BRANCH}:${BRANCH}`, 'refs/tags/*:refs/tags/*');
      } else if (local && local !== remoteMain && !(await this.isAncestor(local, remoteMain))) {
        // A new replica's lone first commit loses to the remote's; anything else must not be thrown away.
        const lone = (await git(this.dir, ['rev-list', '--count', '--max-count=2', local])).trim() === '1';
        if (!(await this.isAncestor(remoteMain, local))) {
          if (!lone) throw new AccordError('unavailable', `The registry in ${this.dir} and the registry remote ${scrubbed(this.url)} have different histories: move the data dir's registry aside (or push it elsewhere) and start again`);
        } else refspecs.push(`${BRANCH}:${BRANCH}`, 'refs/tags/*:refs/tags/*');
      }
      if (localAnchor && localAnchor !== remoteAnchor && (!remoteAnchor || (await this.isAncestor(remoteAnchor, localAnchor)))) {
        refspecs.push(`${AUDIT_REF}:${AUDIT_REF}`);
        options.push(`--force-with-lease=${AUDIT_REF}:${remoteAnchor ?? ''}`);
      }
      if (refspecs.length === 0) return undefined;
      const pushed = await this.push(refspecs, options);
      return pushed.code === 0 ? undefined : pushed;
    } finally {
      await this.dropScratch();
    }
  }

  private async isAncestor(older: string, newer: string): Promise<boolean> {
    return (await runGit(this.dir, ['merge-base', '--is-ancestor', older, newer])).code === 0;
  }

  /**
   * Publishes on the remote, then calls `index` with the commit; with the tag already there, adopts
   * identical content (index with the remote's commit) and refuses different content
   * (`TagTakenError`). Leaves nothing behind locally when the push fails.
   */
  async publish<T>(request: PublishRequest, index: (commit: string) => T | Promise<T>): Promise<T> {
    const deadline = Date.now() + RACE_BUDGET_MS;
    for (let attempt = 1; attempt === 1 || Date.now() < deadline; attempt++) {
      // Objects of attempts that lost a race are pruned once, by the attempt that ends the publication.
      const outcome = await this.locked(() =>
        this.attempt(request, attempt > 1).catch(async (error: unknown) => {
          await this.prune();
          throw error;
        }),
      );
      if ('commit' in outcome) return await index(outcome.commit);
      if ('taken' in outcome) {
        const blob = await runGit(this.dir, ['cat-file', 'blob', `${outcome.taken}:${request.path}`]);
        if (blob.code === 0 && blob.stdout === request.content) return await index(outcome.taken);
        throw new TagTakenError(request.tag, outcome.taken);
      }
      // Another replica moved main first: this one has just fetched its tip, so it goes again at once
      // (a growing back-off would only hand the next round to the replicas that won this one).
      await sleep(Math.random() * 5);
    }
    await this.locked(() => this.prune());
    throw new AccordError('unavailable', `The registry remote's main kept moving: ${request.tag} was not published within ${RACE_BUDGET_MS / 1000} s; try again`, { retryAfterSeconds: 1 });
  }

  private async attempt(request: PublishRequest, raced: boolean): Promise<Attempt> {
    const tagRef = `refs/tags/${request.tag}`;
    const before = await this.tips(tagRef);
    if (before.tag) {
      if (raced) await this.prune();
      return { taken: before.tag };
    }
    let pushed: GitRun;
    let landed = false;
    try {
      const commit = (await git(this.dir, ['fast-import', '--quiet'], { input: publicationStream(request, PENDING_PUBLISH, before.main!, { reset: true }) })).trim();
      pushed = await this.push([`${commit}:${BRANCH}`, `${tagRef}:${tagRef}`]);
      if (pushed.code === 0) {
        await git(this.dir, ['update-ref', '--stdin'], { input: `update ${BRANCH} ${commit}\ndelete ${PENDING_PUBLISH}\n` });
        landed = true;
        if (raced) await this.prune();
        return { commit };
      }
    } finally {
      if (!landed) await this.dropRefs([tagRef]);
    }
    // Rejected: see what the remote holds now. The push may even have landed before the connection
    // broke: then the tag is there with this very content, and publish adopts it.
    const after = await this.fetchNow().then(() => this.tips(tagRef));
    if (after.tag) {
      await this.prune();
      return { taken: after.tag };
    }
    if (after.main !== before.main) return { moved: true };
    throw remoteFailure(`The registry remote refused ${request.tag}`, pushed);
  }

  /** The local tip of main and the commit `tagRef` names (undefined if it does not exist), in one git run. */
  private async tips(tagRef: string): Promise<{ main: string | undefined; tag: string | undefined }> {
    const out = await git(this.dir, ['for-each-ref', '--format=%(refname) %(objectname) %(*objectname)', BRANCH, tagRef]);
    const found = new Map(out.split('\n').filter(Boolean).map((line) => {
      const [ref = '', object = '', peeled = ''] = line.split(' ');
      return [ref, peeled || object] as const;
    }));
    return { main: found.get(BRANCH), tag: found.get(tagRef) };
  }

  /** Undoes the refs of a local write that did not reach the remote (`prune` then removes its objects). */
  private async dropRefs(refs: string[]): Promise<void> {
    await git(this.dir, ['update-ref', '--stdin'], { input: [...refs, PENDING_PUBLISH, PENDING_AUDIT].map((r) => `delete ${r}\n`).join('') }).catch(() => undefined);
  }

  /** Removes unreachable objects, so a write that did not reach the remote leaves nothing behind. */
  private async prune(): Promise<void> {
    await git(this.dir, ['prune', '--expire=now']).catch(() => undefined);
  }

  /**
   * Pushes a registry batch (see batch.ts): main from `base` to `tip` and every new tag, in one
   * atomic push, then moves the local mirror the same way. 'raced' when the remote refused because
   * another replica moved main or published one of the tags meanwhile (fetched now: the batch runs
   * again on the new tip); any other refusal is a 503.
   */
  pushBatch(update: { base: string; tip: string; tags: ReadonlyArray<{ ref: string; object: string }> }): Promise<'pushed' | 'raced'> {
    return this.locked(async () => {
      const pushed = await this.push([`${update.tip}:${BRANCH}`, ...update.tags.map((t) => `${t.object}:${t.ref}`)]);
      if (pushed.code === 0) {
        await git(this.dir, ['update-ref', '--stdin'], { input: [`update ${BRANCH} ${update.tip}`, ...update.tags.map((t) => `update ${t.ref} ${t.object}`), ''].join('\n') });
        return 'pushed';
      }
      await this.fetchNow();
      if ((await resolveRef(this.dir, BRANCH)) !== update.base) return 'raced';
      for (const t of update.tags) if (await resolveRef(this.dir, t.ref)) return 'raced';
      throw remoteFailure('The registry remote refused the batch', pushed);
    });
  }

  /** Removes unreachable objects under the lock (a fetch meanwhile could lose what it has not referenced yet): after a batch that was not pushed. */
  pruneUnpushed(): Promise<void> {
    return this.locked(() => this.prune());
  }

  /**
   * Commits an audit anchor and pushes it to `refs/accord/audit` on the remote, only if the remote's
   * ref is still at `request.parent` (`--force-with-lease`); a moved ref is a conflict, as it is
   * locally (the audit chain reports it and tries again later).
   */
  writeAuditAnchor(request: AuditAnchorWrite): Promise<string> {
    return this.locked(async () => {
      const moved = (tip: string | undefined) => new AccordError('conflict', `${AUDIT_REF} is at ${tip ?? 'nothing'} on the registry remote, expected ${request.parent ?? 'nothing'}`);
      const tip = await resolveRef(this.dir, AUDIT_REF);
      if (tip !== request.parent) throw moved(tip);
      const commit = (await git(this.dir, ['fast-import', '--quiet'], { input: anchorStream(request, PENDING_AUDIT, { reset: true }) })).trim();
      const pushed = await this.push([`${commit}:${AUDIT_REF}`], [`--force-with-lease=${AUDIT_REF}:${request.parent ?? ''}`]);
      if (pushed.code === 0) {
        await git(this.dir, ['update-ref', '--stdin'], { input: `update ${AUDIT_REF} ${commit}\ndelete ${PENDING_AUDIT}\n` });
        return commit;
      }
      await this.dropRefs([]);
      await this.prune();
      await this.fetchNow();
      const now = await resolveRef(this.dir, AUDIT_REF);
      if (now !== request.parent) throw moved(now);
      throw remoteFailure('The registry remote refused the audit anchor', pushed);
    });
  }
}

/** The newest audit anchor on the remote `url`, read through a scratch repository (for the CLI); undefined when there is none. */
export async function readRemoteAuditAnchor(url: string): Promise<StoredAuditAnchor | undefined> {
  const scratch = await fs.mkdtemp(path.join(os.tmpdir(), 'accord-anchor-'));
  try {
    await git(scratch, ['init', '--quiet', '--bare']);
    const run = await runGit(scratch, ['fetch', '--quiet', '--no-tags', remoteLocation(url), '+refs/accord/*:refs/accord/*']);
    if (run.code !== 0) throw remoteFailure('Cannot fetch the audit anchor from the registry remote', run);
    return await readAnchorIn(scratch);
  } finally {
    await fs.rm(scratch, { recursive: true, force: true });
  }
}
