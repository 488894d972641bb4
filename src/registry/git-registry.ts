import fs from 'node:fs/promises';
import path from 'node:path';
import { simpleGit, type SimpleGit } from 'simple-git';
import { AccordError } from '../errors.ts';

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
}

/** Operations available while the registry lock is held. */
export interface RegistryTransaction {
  /**
   * Writes one file in one commit plus an annotated tag, then calls `index(commit)`. If the
   * commit, the tag or `index` fails, the tag and commit are undone and the error rethrown.
   */
  publish<T>(request: PublishRequest, index: (commit: string) => T | Promise<T>): Promise<T>;
}

const FIELD = '\x1f';
const RECORD = '\x1e';

/**
 * The Git repository behind the registry. Every write goes through `transaction`, which
 * serialises callers so that git never meets its own index.lock.
 */
export class GitRegistry {
  readonly dir: string;
  private readonly git: SimpleGit;
  private queue: Promise<unknown> = Promise.resolve();

  private constructor(dir: string) {
    this.dir = dir;
    this.git = simpleGit({ baseDir: dir, maxConcurrentProcesses: 4 });
  }

  /**
   * Opens the repository at `dir`, creating it (with an initial commit) if needed, and undoes
   * whatever a crash may have left half-done: a stale lock, uncommitted files, and a last
   * commit whose tag the index does not know (`isIndexed(tag)` false).
   */
  static async open(dir: string, isIndexed: (tag: string) => boolean = () => true): Promise<GitRegistry> {
    await fs.mkdir(dir, { recursive: true });
    const registry = new GitRegistry(dir);
    await registry.init();
    await registry.recover(isIndexed);
    return registry;
  }

  private async init(): Promise<void> {
    const exists = await fs
      .stat(path.join(this.dir, '.git'))
      .then(() => true)
      .catch(() => false);
    if (!exists) await this.git.raw(['init', '--quiet', '--initial-branch=main']);
    // Repository-local identity and settings, so commits work on machines without global git config.
    for (const [key, value] of [
      ['user.name', 'Accord registry'],
      ['user.email', 'registry@accord.invalid'],
      ['commit.gpgsign', 'false'],
      ['tag.gpgsign', 'false'],
      ['gc.auto', '0'],
    ] as const) {
      await this.git.raw(['config', key, value]);
    }
    if (!exists) await this.git.raw(['commit', '--allow-empty', '--quiet', '-m', 'Initialise Accord registry']);
  }

  private async recover(isIndexed: (tag: string) => boolean): Promise<void> {
    await fs.rm(path.join(this.dir, '.git', 'index.lock'), { force: true });
    await this.git.raw(['reset', '--hard', '--quiet', 'HEAD']);
    await this.git.raw(['clean', '-fdq']);
    // A crash between commit and index insert can only leave the newest commit unindexed.
    for (;;) {
      const tags = (await this.git.raw(['tag', '--points-at', 'HEAD'])).split('\n').filter(Boolean);
      const orphans = tags.filter((t) => !isIndexed(t));
      if (orphans.length === 0) break;
      for (const t of orphans) await this.git.raw(['tag', '-d', t]);
      if (tags.length === orphans.length) await this.git.raw(['reset', '--hard', '--quiet', 'HEAD~1']);
    }
  }

  /** Runs `fn` with the registry lock held; callers queue in order. */
  transaction<T>(fn: (tx: RegistryTransaction) => Promise<T>): Promise<T> {
    const run = this.queue.then(() => fn({ publish: (request, index) => this.publish(request, index) }));
    this.queue = run.catch(() => undefined);
    return run;
  }

  private async publish<T>(request: PublishRequest, index: (commit: string) => T | Promise<T>): Promise<T> {
    const file = path.join(this.dir, ...request.path.split('/'));
    const previous = (await this.git.raw(['rev-parse', 'HEAD'])).trim();
    let tagged = false;
    try {
      await fs.mkdir(path.dirname(file), { recursive: true });
      await fs.writeFile(file, request.content);
      await this.git.raw(['add', '--', request.path]);
      await this.git.raw([
        'commit',
        '--quiet',
        '--no-verify',
        `--author=${request.author.name} <${request.author.email}>`,
        '-m',
        request.message,
        '--',
        request.path,
      ]);
      const commit = (await this.git.raw(['rev-parse', 'HEAD'])).trim();
      await this.git.raw(['tag', '-a', request.tag, '-m', request.tagMessage, commit]);
      tagged = true;
      return await index(commit);
    } catch (error) {
      if (tagged) await this.git.raw(['tag', '-d', request.tag]).catch(() => undefined);
      await this.git.raw(['reset', '--hard', '--quiet', previous]).catch(() => undefined);
      await fs.rm(file, { force: true });
      throw error;
    }
  }

  /** Commits that touched `prefix` (a folder path inside the repository), newest first. */
  async history(prefix: string): Promise<HistoryEntry[]> {
    const out = await this.git.raw(['log', `--format=%H${FIELD}%an${FIELD}%ae${FIELD}%aI${FIELD}%B${RECORD}`, '--', prefix]);
    return out
      .split(RECORD)
      .map((r) => r.trim())
      .filter(Boolean)
      .map((r) => {
        const [sha = '', author = '', email = '', date = '', message = ''] = r.split(FIELD);
        return { sha, author, email, date, message: message.trim() };
      });
  }

  /** Reads a committed file from the working tree (written only under the lock, never rewritten). */
  async read(relPath: string): Promise<string> {
    try {
      return await fs.readFile(path.join(this.dir, ...relPath.split('/')), 'utf8');
    } catch (error) {
      throw new AccordError('not_found', `${relPath} is not in the registry`, { cause: error });
    }
  }

  /** All tags, or those under a prefix such as `contracts/`. */
  async tags(pattern?: string): Promise<string[]> {
    const out = await this.git.raw(['tag', '--list', ...(pattern ? [pattern] : [])]);
    return out.split('\n').filter(Boolean);
  }

  /** The commit a tag points at. */
  async tagCommit(tag: string): Promise<string> {
    return (await this.git.raw(['rev-list', '-n', '1', tag])).trim();
  }

  /** Cheap liveness probe for /readyz. */
  async ping(): Promise<void> {
    await this.git.raw(['rev-parse', '--verify', 'HEAD']);
  }

  /** Runs `git fsck` and returns its output; throws if git reports corruption. */
  async fsck(): Promise<string> {
    return this.git.raw(['fsck', '--full', '--strict']);
  }
}
