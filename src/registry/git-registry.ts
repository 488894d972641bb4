import fs from 'node:fs/promises';
import path from 'node:path';
import { simpleGit, type SimpleGit } from 'simple-git';
import { AccordError } from '../errors.ts';
import { refFormatProblem } from './ref-format.ts';

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

const BRANCH = 'refs/heads/main';
const AUDIT_REF = 'refs/accord/audit';
const AUDIT_FILE = 'audit-anchor.json';
const COMMITTER = 'Accord registry <registry@accord.invalid>';
const FIELD = '\x1f';
const RECORD = '\x1e';

function fastImportData(text: string): string {
  return `data ${Buffer.byteLength(text)}\n${text}\n`;
}

function gitTime(at: Date): string {
  return `${Math.floor(at.getTime() / 1000)} +0000`;
}

/**
 * The bare Git repository behind the registry. Each publication is one `git fast-import` run
 * that writes the blob, the commit on main and the annotated tag together. Writes go through
 * `transaction`, which serialises callers so that git never meets its own lock.
 */
export class GitRegistry {
  readonly dir: string;
  /** Whether this open created the repository (a new data dir). */
  created = false;
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
   * (`isIndexed(tag)` false).
   */
  static async open(dir: string, isIndexed: (tag: string) => Promise<boolean> | boolean = () => true, { durability = 'normal' }: { durability?: 'normal' | 'full' } = {}): Promise<GitRegistry> {
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
    if (!exists) {
      registry.head = await registry.fastImport(
        `commit ${BRANCH}\nmark :1\ncommitter ${COMMITTER} ${gitTime(new Date())}\n${fastImportData('Initialise Accord registry')}\nget-mark :1\n`,
      );
    }
    await registry.recover(isIndexed);
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
    // A crash between fast-import and the index insert can only leave the newest commit unindexed.
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

  /** Runs `fn` with the registry lock held; callers queue in order. */
  transaction<T>(fn: (tx: RegistryTransaction) => Promise<T>): Promise<T> {
    const run = this.queue.then(() => fn({ publish: (request, index) => this.publish(request, index) }));
    this.queue = run.catch(() => undefined);
    return run;
  }

  private async publish<T>(request: PublishRequest, index: (commit: string) => T | Promise<T>): Promise<T> {
    const problem = refFormatProblem(`refs/tags/${request.tag}`);
    if (problem) throw new AccordError('invalid_document', `Tag "${request.tag}" cannot be a Git reference: it ${problem}`, { errors: [{ location: '', message: `tag ${problem}` }] });
    const previous = this.head;
    const time = gitTime(request.at);
    const author = `${request.author.name} <${request.author.email}>`;
    try {
      const commit = await this.fastImport(
        [
          `blob\nmark :1\n${fastImportData(request.content)}`,
          `commit ${BRANCH}\nmark :2\nauthor ${author} ${time}\ncommitter ${COMMITTER} ${time}\n${fastImportData(request.message)}`,
          `from ${previous}\nM 100644 :1 ${request.path}\n\n`,
          `tag ${request.tag}\nfrom :2\ntagger ${COMMITTER} ${time}\n${fastImportData(request.tagMessage)}`,
          'get-mark :2\n',
        ].join(''),
      );
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
      const time = gitTime(request.at);
      const tip = await readAnchorTip(this.git);
      if (tip !== request.parent) throw new AccordError('conflict', `${AUDIT_REF} is at ${tip ?? 'nothing'}, expected ${request.parent ?? 'nothing'}`);
      return this.fastImport(
        [
          `commit ${AUDIT_REF}\nmark :1\ncommitter ${COMMITTER} ${time}\n${fastImportData(request.message)}`,
          request.parent ? `from ${request.parent}\n` : '',
          `deleteall\nM 100644 inline ${AUDIT_FILE}\n${fastImportData(request.text)}\n`,
          'get-mark :1\n',
        ].join(''),
      );
    });
    this.queue = run.catch(() => undefined);
    return run;
  }

  /** The newest audit anchor: its commit and audit-anchor.json's text (undefined if it has none); undefined when the ref does not exist. */
  readAuditAnchor(): Promise<{ commit: string; text: string | undefined } | undefined> {
    return readAnchor(this.git);
  }

  /** Like `readAuditAnchor`, on the bare repository at `dir` without opening (or creating) it; undefined when there is none. */
  static async readAuditAnchorAt(dir: string): Promise<{ commit: string; text: string | undefined } | undefined> {
    const exists = await fs.stat(path.join(dir, 'HEAD')).then(
      () => true,
      () => false,
    );
    return exists ? readAnchor(simpleGit({ baseDir: dir })) : undefined;
  }

  /** Commits on main that touched `prefix` (a folder path inside the repository), newest first. */
  async history(prefix: string): Promise<HistoryEntry[]> {
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
      throw new AccordError('not_found', `${relPath} is not in the registry at ${commit}`, { cause: error });
    }
  }

  /** Cheap liveness probe for /readyz. */
  async ping(): Promise<void> {
    await this.git.raw(['rev-parse', '--verify', BRANCH]);
  }
}

async function readAnchorTip(git: SimpleGit): Promise<string | undefined> {
  const tip = (await git.raw(['rev-parse', '--verify', '--quiet', `${AUDIT_REF}^{commit}`]).catch(() => '')).trim();
  return tip || undefined;
}

async function readAnchor(git: SimpleGit): Promise<{ commit: string; text: string | undefined } | undefined> {
  const commit = await readAnchorTip(git);
  if (!commit) return undefined;
  const text = await git.raw(['cat-file', 'blob', `${commit}:${AUDIT_FILE}`]).catch(() => undefined);
  return { commit, text };
}
