import { spawn } from 'node:child_process';
import type { AuditAnchorWrite, PublishRequest, StoredAuditAnchor } from './types.ts';

/** The registry's branch, the audit anchor's ref and file, and who commits. */
export const BRANCH = 'refs/heads/main';
export const AUDIT_REF = 'refs/accord/audit';
const AUDIT_FILE = 'audit-anchor.json';
const COMMITTER = 'Accord registry <registry@accord.invalid>';

function fastImportData(text: string): string {
  return `data ${Buffer.byteLength(text)}\n${text}\n`;
}

/** A git timestamp (seconds, UTC) for fast-import. */
function gitTime(at: Date): string {
  return `${Math.floor(at.getTime() / 1000)} +0000`;
}

/** The fast-import stream of the registry's first (empty) commit on main; prints its id. */
export function initialCommitStream(at: Date): string {
  return `commit ${BRANCH}\nmark :1\ncommitter ${COMMITTER} ${gitTime(at)}\n${fastImportData('Initialise Accord registry')}\nget-mark :1\n`;
}

/**
 * The fast-import stream of one publication: the blob, a commit on `ref` whose parent is `from`,
 * and the annotated tag on it (unless `tag` is false: a registry batch makes its tags apart, see
 * `tagObjectText`); prints the commit id. `reset` first clears `ref`, for a scratch ref a crashed
 * run may have left behind.
 */
export function publicationStream(request: PublishRequest, ref: string, from: string, { reset = false, tag = true } = {}): string {
  const time = gitTime(request.at);
  const author = `${request.author.name} <${request.author.email}>`;
  return [
    reset ? `reset ${ref}\n\n` : '',
    `blob\nmark :1\n${fastImportData(request.content)}`,
    `commit ${ref}\nmark :2\nauthor ${author} ${time}\ncommitter ${COMMITTER} ${time}\n${fastImportData(request.message)}`,
    `from ${from}\nM 100644 :1 ${request.path}\n\n`,
    tag ? `tag ${request.tag}\nfrom :2\ntagger ${COMMITTER} ${time}\n${fastImportData(request.tagMessage)}` : '',
    'get-mark :2\n',
  ].join('');
}

/**
 * The annotated tag of a publication on `commit`, as `git mktag` reads it: the very object
 * `publicationStream` would have written, made without creating its ref (a batch creates the refs
 * of all its tags at once).
 */
export function tagObjectText(request: PublishRequest, commit: string): string {
  return `object ${commit}\ntype commit\ntag ${request.tag}\ntagger ${COMMITTER} ${gitTime(request.at)}\n\n${request.tagMessage}`;
}

/** The fast-import stream of an audit anchor commit on `ref` (its own history: parent `request.parent`); prints its id. */
export function anchorStream(request: AuditAnchorWrite, ref: string, { reset = false } = {}): string {
  return [
    reset ? `reset ${ref}\n\n` : '',
    `commit ${ref}\nmark :1\ncommitter ${COMMITTER} ${gitTime(request.at)}\n${fastImportData(request.message)}`,
    request.parent ? `from ${request.parent}\n` : '',
    `deleteall\nM 100644 inline ${AUDIT_FILE}\n${fastImportData(request.text)}\n`,
    'get-mark :1\n',
  ].join('');
}

/** What one git run printed and how it exited. */
export interface GitRun {
  code: number;
  stdout: string;
  stderr: string;
}

/**
 * Runs git in `dir` (stdin `input`, killed after `timeoutMs`) and resolves with its output and exit
 * code, failing or not. Used for the remote's commands rather than simple-git, which waits 50 ms
 * after every command that prints nothing (ADR 0001) and hides the exit code.
 */
export function runGit(dir: string, args: readonly string[], { input, timeoutMs = 120_000 }: { input?: string; timeoutMs?: number } = {}): Promise<GitRun> {
  return new Promise((resolve, reject) => {
    const child = spawn('git', args, { cwd: dir, timeout: timeoutMs, stdio: ['pipe', 'pipe', 'pipe'] });
    const out: Buffer[] = [];
    const err: Buffer[] = [];
    child.stdout.on('data', (d: Buffer) => out.push(d));
    child.stderr.on('data', (d: Buffer) => err.push(d));
    child.on('error', reject);
    // git may exit before reading all of stdin (a bad stream): that is its exit code's business.
    child.stdin.on('error', () => undefined);
    child.stdin.end(input ?? '');
    child.on('close', (code, signal) => resolve({ code: code ?? (signal ? 128 : 1), stdout: Buffer.concat(out).toString('utf8'), stderr: Buffer.concat(err).toString('utf8') || (signal ? `killed by ${signal}` : '') }));
  });
}

/** Like `runGit`, but a non-zero exit is an Error carrying git's message. */
export async function git(dir: string, args: readonly string[], options: { input?: string; timeoutMs?: number } = {}): Promise<string> {
  const run = await runGit(dir, args, options);
  if (run.code !== 0) throw new Error(`git ${args[0]} failed: ${run.stderr.trim() || `exit code ${run.code}`}`);
  return run.stdout;
}

/** The commit `ref` points at (peeling tags), or undefined when it does not exist. */
export async function resolveRef(dir: string, ref: string): Promise<string | undefined> {
  const run = await runGit(dir, ['rev-parse', '--verify', '--quiet', `${ref}^{commit}`]);
  return run.code === 0 ? run.stdout.trim() || undefined : undefined;
}

/** The newest audit anchor in the repository at `dir`, or undefined when the ref does not exist. */
export async function readAnchorIn(dir: string): Promise<StoredAuditAnchor | undefined> {
  const commit = await resolveRef(dir, AUDIT_REF);
  if (!commit) return undefined;
  const blob = await runGit(dir, ['cat-file', 'blob', `${commit}:${AUDIT_FILE}`]);
  return { commit, text: blob.code === 0 ? blob.stdout : undefined };
}
