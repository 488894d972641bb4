import fs from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { simpleGit } from 'simple-git';
import { ANCHOR_REF } from '../audit/anchor.ts';
import { BackupError } from './errors.ts';

const MAIN = 'refs/heads/main';
const TAGS = 'refs/tags/';

/** One ref: the object it names and, for an annotated tag, the commit it peels to. */
export interface RefTarget {
  object: string;
  peeled?: string;
}

/** Every ref of the repository at `dir` (HEAD aside). */
export async function readRefs(dir: string): Promise<Map<string, RefTarget>> {
  const out = await simpleGit({ baseDir: dir }).raw(['for-each-ref', '--format=%(objectname)%09%(*objectname)%09%(refname)']);
  const refs = new Map<string, RefTarget>();
  for (const line of out.split('\n').filter(Boolean)) {
    const [object = '', peeled = '', name = ''] = line.split('\t');
    refs.set(name, peeled ? { object, peeled } : { object });
  }
  return refs;
}

/** The object `ref` names in the repository at `dir`, or undefined when it does not exist. */
export async function readRef(dir: string, ref: string): Promise<string | undefined> {
  const out = await simpleGit({ baseDir: dir }).raw(['rev-parse', '--verify', '--quiet', ref]).catch(() => '');
  return out.trim() || undefined;
}

/**
 * The refs a backup keeps so that the registry agrees with the database snapshot taken between
 * `anchorBefore` (read before the snapshot) and `after` (read after it): tags the snapshot indexes
 * (each must peel to the indexed commit), main moved back past commits whose tags it does not
 * index yet (as the registry's crash recovery would), the audit anchor as it was before the
 * snapshot (an anchor written later may cover entries the snapshot lacks) and every other ref as is.
 */
export async function refsMatchingSnapshot(dir: string, after: Map<string, RefTarget>, anchorBefore: string | undefined, indexedTags: Map<string, string>): Promise<Map<string, string>> {
  for (const [tag, commit] of indexedTags) {
    const ref = after.get(`${TAGS}${tag}`);
    if (!ref) throw new BackupError('refused', `The registry has no tag ${tag}, which the database indexes: the data dir is damaged (run \`accord audit verify\` and investigate before backing it up)`);
    if ((ref.peeled ?? ref.object) !== commit) throw new BackupError('refused', `Tag ${tag} names commit ${ref.peeled ?? ref.object} in the registry but ${commit} in the database: the data dir is damaged`);
  }
  const tagsOn = new Map<string, string[]>();
  for (const [name, ref] of after) {
    if (!name.startsWith(TAGS)) continue;
    const commit = ref.peeled ?? ref.object;
    tagsOn.set(commit, [...(tagsOn.get(commit) ?? []), name.slice(TAGS.length)]);
  }
  let main = after.get(MAIN)?.object;
  for (;;) {
    const tags = (main && tagsOn.get(main)) || [];
    if (tags.length === 0 || tags.some((tag) => indexedTags.has(tag))) break;
    main = await readRef(dir, `${main}^`);
  }
  const pinned = new Map<string, string>();
  for (const [name, ref] of after) {
    if (name === ANCHOR_REF || name === MAIN) continue;
    if (name.startsWith(TAGS) && !indexedTags.has(name.slice(TAGS.length))) continue;
    pinned.set(name, ref.object);
  }
  if (main) pinned.set(MAIN, main);
  if (anchorBefore) pinned.set(ANCHOR_REF, anchorBefore);
  return new Map([...pinned].sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0)));
}

/**
 * Writes a `git bundle` of the registry at `dir` with exactly `refs` (which may differ from the
 * registry's current refs): a scratch repository borrows the registry's objects (alternates),
 * holds those refs and is bundled with `--all`. The bundle gets mode 0600.
 */
export async function bundleRegistry(dir: string, refs: Map<string, string>, bundle: string): Promise<void> {
  const scratch = await fs.mkdtemp(path.join(os.tmpdir(), 'accord-backup-refs-'));
  try {
    await simpleGit({ baseDir: scratch }).raw(['init', '--quiet', '--bare', '--initial-branch=main']);
    await fs.writeFile(path.join(scratch, 'objects/info/alternates'), `${path.resolve(dir, 'objects')}\n`);
    const stdin = [...refs].map(([name, object]) => `create ${name} ${object}\n`).join('');
    await simpleGit({ baseDir: scratch, input: (commands: readonly string[]) => (commands.includes('update-ref') ? stdin : undefined) }).raw(['update-ref', '--stdin']);
    await simpleGit({ baseDir: scratch }).raw(['bundle', 'create', '--quiet', bundle, '--all']);
  } finally {
    await fs.rm(scratch, { recursive: true, force: true });
  }
  await fs.chmod(bundle, 0o600);
}

/**
 * Makes a new bare repository at `dir` holding every ref of `bundle`, the refs packed into one
 * file (the caller fsyncs the few files that makes, rather than git one file per ref).
 */
export async function cloneBundle(bundle: string, dir: string): Promise<void> {
  await fs.mkdir(dir);
  const git = simpleGit({ baseDir: dir });
  await git.raw(['init', '--quiet', '--bare', '--initial-branch=main']);
  await git.raw(['fetch', '--quiet', '--no-write-fetch-head', bundle, 'refs/*:refs/*']);
  await git.raw(['pack-refs', '--all', '--prune']);
}

/** What `git fsck --full` finds wrong with the repository at `dir`; empty when it is sound. */
export async function fsckProblems(dir: string): Promise<string> {
  try {
    await simpleGit({ baseDir: dir }).raw(['fsck', '--full', '--no-progress', '--no-dangling']);
    return '';
  } catch (error) {
    return (error as Error).message.trim() || 'git fsck failed';
  }
}
