import { execFileSync } from 'node:child_process';
import { createHash, createHmac, randomBytes } from 'node:crypto';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import Database from 'better-sqlite3';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { parseStoredAnchor } from '../src/audit/anchor.ts';
import { reanchorAudit } from '../src/audit/chain.ts';
import { loadAuditKey } from '../src/audit/key.ts';
import { verifyAudit, type AuditVerification, type StoredEntry } from '../src/audit/log.ts';
import { loadConfig } from '../src/config.ts';
import { openDb } from '../src/db/index.ts';
import { GitRegistry } from '../src/registry/git-registry.ts';
import { openService } from '../src/server.ts';
import { ADMIN_TOKEN, runCli, startTestService, type TestService } from './harness.ts';

const EVERY = 5;
const GENESIS = '0'.repeat(64);
const dirs: string[] = [];

type Row = StoredEntry;

// The attacker's tools. The algorithms are public (docs/adr/0009); only the key is secret.
const unkeyedLink = (prev: string, r: Row) => createHash('sha256').update(`${prev}\n${JSON.stringify([r.at, r.actor, r.role, r.action, r.target, r.outcome, r.detail])}`).digest('hex');
const keyedLink = (key: Buffer, prev: string, r: Row) =>
  createHmac('sha256', key).update(`accord-audit-entry/1\n${prev}\n${JSON.stringify([r.seq, r.at, r.actor, r.role, r.action, r.target, r.outcome, r.detail])}`).digest('hex');

/** Opens the data dir's SQLite file directly, as an attacker with write access to the database would. */
function tamper(dir: string, attack: (db: Database.Database) => void): void {
  const db = new Database(path.join(dir, 'accord.db'));
  try {
    attack(db);
  } finally {
    db.close();
  }
}

const rowsOf = (db: Database.Database, fromSeq = 0) => db.prepare('SELECT seq, at, actor, role, action, target, outcome, detail, prev_hash AS prevHash, hash, chain FROM audit_log WHERE seq >= ? ORDER BY seq').all(fromSeq) as Row[];

/** Edits entry `seq`, then recomputes every link from it on with `link` and marks the rows `chain`. */
function rechain(db: Database.Database, seq: number, chain: string, link: (prev: string, r: Row) => string): void {
  db.prepare("UPDATE audit_log SET actor = 'mallory' WHERE seq = ?").run(seq);
  let prev = (db.prepare('SELECT hash FROM audit_log WHERE seq < ? ORDER BY seq DESC LIMIT 1').pluck().get(seq) as string | undefined) ?? GENESIS;
  for (const r of rowsOf(db, seq)) {
    const hash = link(prev, r);
    db.prepare('UPDATE audit_log SET prev_hash = ?, hash = ?, chain = ? WHERE seq = ?').run(prev, hash, chain, r.seq);
    prev = hash;
  }
}

/** Runs `accord audit verify`'s check in-process on a data dir. */
async function verifyDir(dir: string, env: Record<string, string> = {}): Promise<AuditVerification> {
  const { key } = loadAuditKey(loadConfig({ ACCORD_DATA_DIR: dir, ...env }), { create: false });
  const stored = parseStoredAnchor(await GitRegistry.readAuditAnchorAt(path.join(dir, 'registry')));
  const db = openDb(path.join(dir, 'accord.db'));
  try {
    return await verifyAudit(db, key, stored);
  } finally {
    await db.$close();
  }
}

const kinds = (r: AuditVerification) => r.problems.map((p) => p.kind);
const git = (dir: string, ...args: string[]) => execFileSync('git', args, { cwd: path.join(dir, 'registry'), encoding: 'utf8' });
const anchorAt = (dir: string, rev = 'refs/accord/audit') => JSON.parse(git(dir, 'cat-file', 'blob', `${rev}:audit-anchor.json`));
const anchorSubjects = (dir: string) => git(dir, 'log', '--format=%s', 'refs/accord/audit').trim().split('\n').reverse();

/** Makes `n` audited requests (refused reads are audited). */
async function audited(s: TestService, n: number): Promise<void> {
  const ci = await s.token('ci');
  for (let i = 0; i < n; i++) expect((await s.call('GET', '/v1/audit', { token: ci })).status).toBe(403);
}

function tempDir(prefix = 'accord-audit-'): string {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), prefix));
  dirs.push(dir);
  return dir;
}

/** A copy of a closed data dir, to attack without touching the original. */
function copyOf(template: string): string {
  const dir = tempDir();
  fs.cpSync(template, dir, { recursive: true });
  return dir;
}

afterAll(() => {
  for (const dir of dirs) fs.rmSync(dir, { recursive: true, force: true });
});

describe('keyed audit chain anchored in the registry', () => {
  /** A closed data dir with 12 keyed entries; its last anchor (written at close) covers all 12. */
  let template: string;

  beforeAll(async () => {
    template = tempDir();
    const s = await startTestService({ dir: template, env: { ACCORD_AUDIT_ANCHOR_EVERY: String(EVERY) } });
    await audited(s, 12);
    await s.close();
  });

  it('keeps the key in <data>/audit.key with mode 0600, chains every entry with HMAC-SHA256 and verifies intact', async () => {
    const keyFile = path.join(template, 'audit.key');
    expect(fs.statSync(keyFile).mode & 0o777).toBe(0o600);
    const key = Buffer.from(fs.readFileSync(keyFile, 'utf8').trim(), 'hex');
    expect(key.length).toBe(32);
    const db = new Database(path.join(template, 'accord.db'), { readonly: true });
    const rows = rowsOf(db);
    db.close();
    expect(rows).toHaveLength(12);
    let prev = GENESIS;
    for (const r of rows) {
      expect(r).toMatchObject({ chain: 'hmac-sha256', prevHash: prev, hash: keyedLink(key, prev, r) });
      prev = r.hash;
    }
    const result = await verifyDir(template);
    expect(result).toMatchObject({ ok: true, checked: 12, head: { seq: 12, hash: prev }, unanchored: 0, anchor: { count: 12, head: { seq: 12, hash: prev } }, problems: [] });
    // The anchors live on their own ref: main carries no anchor commit, and no tag was made.
    expect(git(template, 'log', '--format=%s', 'main')).not.toContain('Audit anchor');
    expect(git(template, 'tag', '--list')).toBe('');
  });

  it('reports truncation: the newest anchored entries deleted', async () => {
    const dir = copyOf(template);
    tamper(dir, (db) => db.prepare('DELETE FROM audit_log WHERE seq > 9').run());
    const result = await verifyDir(dir);
    expect(result.ok).toBe(false);
    expect(kinds(result)).toEqual(['truncated']);
    expect(result.problems[0]!.message).toContain('the log ends at entry 9 but the anchor covers entries up to 12');
  });

  it('reports the deletion of every entry', async () => {
    const dir = copyOf(template);
    tamper(dir, (db) => db.prepare('DELETE FROM audit_log').run());
    const result = await verifyDir(dir);
    expect(kinds(result)).toEqual(['all-deleted']);
    expect(result.problems[0]!.message).toContain('the anchor recorded 12 entries');
  });

  it('reports entries deleted in the middle', async () => {
    const dir = copyOf(template);
    tamper(dir, (db) => db.prepare('DELETE FROM audit_log WHERE seq IN (6, 7)').run());
    const result = await verifyDir(dir);
    expect(kinds(result)).toEqual(['deleted', 'deleted']);
    expect(result.problems[0]).toMatchObject({ seq: 8, message: 'entries 6–7 are missing' });
    expect(result.problems[1]!.message).toContain('the log has 10 entries up to the anchored head (entry 12), the anchor recorded 12');
  });

  it('reports an edited entry', async () => {
    const dir = copyOf(template);
    tamper(dir, (db) => db.prepare("UPDATE audit_log SET detail = '{\"status\":200}' WHERE seq = 4").run());
    const result = await verifyDir(dir);
    expect(result.problems).toEqual([{ kind: 'edited', seq: 4, message: 'entry 4 does not match its HMAC: edited, or re-chained without the key' }]);
  });

  it('reports an edit re-chained with the old unkeyed SHA-256 chain', async () => {
    const dir = copyOf(template);
    tamper(dir, (db) => rechain(db, 4, 'sha256', unkeyedLink));
    const result = await verifyDir(dir);
    expect(kinds(result)).toEqual(['rechained', 'rechained']);
    expect(result.problems[0]).toMatchObject({ seq: 4, message: 'entries 4–12 are unkeyed but follow keyed entries: the log was re-chained without the key' });
    expect(result.problems[1]!.message).toContain('entry 12 is not the entry the anchor recorded as its head');
  });

  it('reports an edit re-chained with HMACs under another key', async () => {
    const dir = copyOf(template);
    const otherKey = randomBytes(32);
    tamper(dir, (db) => rechain(db, 4, 'hmac-sha256', (prev, r) => keyedLink(otherKey, prev, r)));
    const result = await verifyDir(dir);
    expect(kinds(result)).toEqual(['edited', 'rechained']);
    expect(result.problems[0]).toMatchObject({ seq: 4, message: 'entries 4–12 do not match their HMACs: edited, or re-chained without the key' });
  });

  it('reports an anchor forged without the key, and an anchor edited after it was sealed', async () => {
    const forged = copyOf(template);
    // Database and Git access: drop entries 10–12, then anchor the shortened log with a MAC of another key.
    tamper(forged, (db) => db.prepare('DELETE FROM audit_log WHERE seq > 9').run());
    const real = anchorAt(forged);
    const head9 = (() => {
      const db = new Database(path.join(forged, 'accord.db'), { readonly: true });
      const hash = db.prepare('SELECT hash FROM audit_log WHERE seq = 9').pluck().get() as string;
      db.close();
      return hash;
    })();
    const fake = { ...real, count: 9, head: { seq: 9, hash: head9 }, mac: createHmac('sha256', randomBytes(32)).update('anything').digest('hex') };
    commitAnchor(forged, JSON.stringify(fake, null, 2));
    const result = await verifyDir(forged);
    expect(kinds(result)).toEqual(['forged-anchor']);
    expect(result.problems[0]!.message).toContain('does not match its MAC: it was forged or edited');

    const edited = copyOf(template);
    commitAnchor(edited, JSON.stringify({ ...anchorAt(edited), count: 40 }, null, 2));
    expect(kinds(await verifyDir(edited))).toEqual(['forged-anchor']);
  });

  it('reports a missing anchor, and the service refuses to start instead of anchoring anew', async () => {
    const dir = copyOf(template);
    git(dir, 'update-ref', '-d', 'refs/accord/audit');
    const result = await verifyDir(dir);
    expect(kinds(result)).toEqual(['missing-anchor']);
    await expect(startTestService({ dir })).rejects.toThrow(/refs\/accord\/audit is missing from the registry/);
    expect(git(dir, 'for-each-ref', 'refs/accord/')).toBe('');
  });

  it('refuses to start when the anchor is gone and every entry was rewritten as an unkeyed one (the key was not made by this start)', async () => {
    const dir = copyOf(template);
    tamper(dir, (db) => rechain(db, 1, 'sha256', unkeyedLink));
    git(dir, 'update-ref', '-d', 'refs/accord/audit');
    await expect(startTestService({ dir })).rejects.toThrow(/refs\/accord\/audit is missing from the registry although the audit key .* was not made by this start/);
    expect(git(dir, 'for-each-ref', 'refs/accord/')).toBe('');
    expect((await verifyDir(dir)).ok).toBe(false);
  });

  it('refuses to start over a log that no longer extends its anchor, or with another key', async () => {
    const truncated = copyOf(template);
    tamper(truncated, (db) => db.prepare('DELETE FROM audit_log WHERE seq > 10').run());
    await expect(startTestService({ dir: truncated })).rejects.toThrow(/entry 12, the head of the last anchor, is missing/);

    const otherKey = copyOf(template);
    await expect(startTestService({ dir: otherKey, env: { ACCORD_AUDIT_KEY: randomBytes(32).toString('hex') } })).rejects.toThrow(/not written with this key/);
  });

  it('never anchors over entries deleted while the service runs', async () => {
    const dir = copyOf(template);
    const s = await startTestService({ dir, env: { ACCORD_AUDIT_ANCHOR_EVERY: String(EVERY) } });
    try {
      tamper(dir, (db) => db.prepare('DELETE FROM audit_log WHERE seq > 8').run());
      await audited(s, EVERY);
      const outcome = await s.deps.audit.anchor();
      expect(outcome).toMatchObject({ written: false, problem: 'entry 12, the head of the last anchor, is no longer the entry anchored' });
      expect(anchorAt(dir).count).toBe(12);
    } finally {
      await s.close();
    }
    expect(kinds(await verifyDir(dir))).toContain('rechained');
  });

  it("follows an operator's re-anchoring while running, but not a rollback of the ref to an older anchor", async () => {
    const dir = copyOf(template);
    const s = await startTestService({ dir, env: { ACCORD_AUDIT_ANCHOR_EVERY: String(EVERY) } });
    try {
      const older = git(dir, 'rev-parse', 'refs/accord/audit~1').trim();
      const { commit } = await reanchorAudit({ db: s.deps.db, registry: s.deps.registry, key: loadAuditKey(s.config, { create: false }).key }, 'drill');
      await audited(s, EVERY);
      await s.deps.audit.settled();
      expect(git(dir, 'rev-parse', 'refs/accord/audit~1').trim()).toBe(commit);
      expect(anchorAt(dir)).toMatchObject({ count: 18, head: { seq: 18 } });

      git(dir, 'update-ref', 'refs/accord/audit', older);
      await audited(s, 1);
      expect(await s.deps.audit.anchor()).toMatchObject({ written: false, problem: expect.stringContaining('does not follow the last anchor: it was rolled back') });
      expect(git(dir, 'rev-parse', 'refs/accord/audit').trim()).toBe(older);
    } finally {
      await s.close();
    }
  });

  it('cannot see entries dropped before they were anchored (the window the ADR names)', async () => {
    const dir = copyOf(template);
    const s = await startTestService({ dir, env: { ACCORD_AUDIT_ANCHOR_EVERY: String(EVERY) } });
    try {
      await audited(s, 2);
      await s.deps.audit.settled();
      expect(await verifyDir(dir)).toMatchObject({ ok: true, checked: 14, unanchored: 2 });
      tamper(dir, (db) => db.prepare('DELETE FROM audit_log WHERE seq > 12').run());
      expect(await verifyDir(dir)).toMatchObject({ ok: true, checked: 12, unanchored: 0 });
    } finally {
      await s.close();
    }
  });

  it('accord audit verify exits 0 intact, 1 for each attack with its finding, 3 without a key or data', async () => {
    const attacked = {
      truncated: (db: Database.Database) => db.prepare('DELETE FROM audit_log WHERE seq > 9').run(),
      'all deleted': (db: Database.Database) => db.prepare('DELETE FROM audit_log').run(),
      'deleted in the middle': (db: Database.Database) => db.prepare('DELETE FROM audit_log WHERE seq = 6').run(),
      edited: (db: Database.Database) => db.prepare("UPDATE audit_log SET actor = 'mallory' WHERE seq = 3").run(),
      'unkeyed re-chain': (db: Database.Database) => rechain(db, 4, 'sha256', unkeyedLink),
      'keyed re-chain with another key': (db: Database.Database) => rechain(db, 4, 'hmac-sha256', (prev, r) => keyedLink(randomBytes(32), prev, r)),
    };
    const expected: Record<string, RegExp> = {
      truncated: /^Audit log BROKEN at entry 10: the log ends at entry 9 but the anchor covers entries up to 12/,
      'all deleted': /^Audit log BROKEN: the log is empty but the anchor recorded 12 entries/,
      'deleted in the middle': /^Audit log BROKEN at entry 7: entry 6 is missing/,
      edited: /^Audit log BROKEN at entry 3: entry 3 does not match its HMAC/,
      'unkeyed re-chain': /^Audit log BROKEN at entry 4: entries 4–12 are unkeyed but follow keyed entries/,
      'keyed re-chain with another key': /^Audit log BROKEN at entry 4: entries 4–12 do not match their HMACs[\s\S]*also: entry 12 is not the entry the anchor recorded/,
      'missing anchor': /^Audit log BROKEN: there is no anchor/,
    };
    const runs: Array<[string, string, Record<string, string>]> = [];
    for (const [name, attack] of Object.entries(attacked)) {
      const dir = copyOf(template);
      tamper(dir, attack);
      runs.push([name, dir, {}]);
    }
    const noAnchor = copyOf(template);
    git(noAnchor, 'update-ref', '-d', 'refs/accord/audit');
    runs.push(['missing anchor', noAnchor, {}]);
    const results = await Promise.all(runs.map(([, dir, env]) => runCli(['audit', 'verify'], { ACCORD_DATA_DIR: dir, ...env })));
    runs.forEach(([name], i) => {
      expect(results[i]!.code, `${name}: ${results[i]!.stdout}${results[i]!.stderr}`).toBe(1);
      expect(results[i]!.stdout, name).toMatch(expected[name]!);
    });

    const keyHex = fs.readFileSync(path.join(template, 'audit.key'), 'utf8').trim();
    const elsewhere = copyOf(template);
    fs.rmSync(path.join(elsewhere, 'audit.key'));
    const [intact, withEnvKey, noKey, wrongKey, noData] = await Promise.all([
      runCli(['audit', 'verify'], { ACCORD_DATA_DIR: template }),
      runCli(['audit', 'verify'], { ACCORD_DATA_DIR: elsewhere, ACCORD_AUDIT_KEY: keyHex }),
      runCli(['audit', 'verify'], { ACCORD_DATA_DIR: elsewhere }),
      runCli(['audit', 'verify'], { ACCORD_DATA_DIR: template, ACCORD_AUDIT_KEY: randomBytes(32).toString('hex') }),
      runCli(['audit', 'verify'], { ACCORD_DATA_DIR: path.join(template, 'nothing-here') }),
    ]);
    expect(intact.code, intact.stderr).toBe(0);
    expect(intact.stdout).toMatch(/^Audit log intact: 12 entries checked \(0 unkeyed from before the upgrade, 12 keyed\)\. Head: entry 12 [0-9a-f]{64}\.\nAnchored in the registry: anchor [0-9a-f]{12} \(.+\) covers 12 entries up to entry 12; 0 newer entries are not anchored yet\.\n$/);
    expect(withEnvKey.code, withEnvKey.stdout).toBe(0);
    expect(noKey.code).toBe(3);
    expect(noKey.stderr).toContain('No audit key');
    expect(wrongKey.code).toBe(1);
    expect(wrongKey.stdout).toMatch(/entries 1–12 do not match their HMACs[\s\S]*not written with this key/);
    expect(noData.code).toBe(3);
    expect(noData.stderr).toContain('No database');
  });

  it('accord audit reanchor accepts the current log after a lost anchor, records why, and the service starts again', async () => {
    const dir = copyOf(template);
    git(dir, 'update-ref', '-d', 'refs/accord/audit');
    expect((await runCli(['audit', 'reanchor'], { ACCORD_DATA_DIR: dir })).code).toBe(3);
    const run = await runCli(['audit', 'reanchor', '--reason', 'registry restored from the 02:00 backup, which predates the anchor ref'], { ACCORD_DATA_DIR: dir });
    expect(run.code, run.stderr).toBe(0);
    expect(run.stdout).toMatch(/^Re-anchored the audit log: 13 entries up to entry 13, anchor [0-9a-f]{12} \(replaced no anchor\)\.\n$/);
    const verify = await runCli(['audit', 'verify'], { ACCORD_DATA_DIR: dir });
    expect(verify.code, verify.stdout).toBe(0);
    expect(verify.stdout).toContain('Note: an operator re-established this anchor (replacing no anchor): registry restored from the 02:00 backup');
    expect((await runCli(['audit', 'reanchor', '--reason', 'again'], { ACCORD_DATA_DIR: dir })).code).toBe(1);
    const s = await startTestService({ dir });
    try {
      const last = (await (await s.call('GET', '/v1/audit?after=12')).json())[0];
      expect(last).toMatchObject({ seq: 13, action: 'audit.reanchored', actor: 'accord audit reanchor', detail: { reason: 'registry restored from the 02:00 backup, which predates the anchor ref', replaced: null } });
    } finally {
      await s.close();
    }
  });
});

/** Commits `text` as the next anchor on refs/accord/audit with plain git, as an attacker with access to the registry could. */
function commitAnchor(dir: string, text: string): void {
  const run = (args: string[], input?: string) => execFileSync('git', args, { cwd: path.join(dir, 'registry'), encoding: 'utf8', input }).trim();
  const blob = run(['hash-object', '-w', '--stdin'], text);
  const tree = run(['mktree'], `100644 blob ${blob}\taudit-anchor.json\n`);
  const commit = run(['commit-tree', tree, '-p', 'refs/accord/audit', '-m', 'Audit anchor'], '');
  run(['update-ref', 'refs/accord/audit', commit]);
}

describe('anchoring schedule', () => {
  it('anchors at start, every ACCORD_AUDIT_ANCHOR_EVERY entries, after a minute of waiting entries, and at close; not again when nothing changed', async () => {
    const dir = tempDir();
    const s = await startTestService({ dir, env: { ACCORD_AUDIT_ANCHOR_EVERY: String(EVERY) } });
    let closed = false;
    try {
      expect(anchorSubjects(dir)).toEqual(['Audit anchor: 0 entries, head entry 0']);
      await audited(s, EVERY);
      await s.deps.audit.settled();
      expect(anchorSubjects(dir)).toHaveLength(2);
      expect(anchorAt(dir)).toMatchObject({ count: 5, head: { seq: 5 } });
      await audited(s, 3);
      await s.deps.audit.settled();
      await s.deps.audit.anchorIfDue(Date.now() + 30_000);
      expect(anchorSubjects(dir)).toHaveLength(2);
      await s.deps.audit.anchorIfDue(Date.now() + 61_000);
      expect(anchorAt(dir)).toMatchObject({ count: 8, head: { seq: 8 } });
      await audited(s, 2);
      await s.close();
      closed = true;
      expect(anchorSubjects(dir)).toEqual([
        'Audit anchor: 0 entries, head entry 0',
        'Audit anchor: 5 entries, head entry 5',
        'Audit anchor: 8 entries, head entry 8',
        'Audit anchor: 10 entries, head entry 10',
      ]);
    } finally {
      if (!closed) await s.close();
    }
    const reopened = await startTestService({ dir });
    await reopened.close();
    expect(anchorSubjects(dir)).toHaveLength(4);
  });

  it('with ACCORD_AUDIT_KEY creates no key file, and entries verify with that key only', async () => {
    const dir = tempDir();
    const key = randomBytes(32).toString('hex');
    const s = await startTestService({ dir, env: { ACCORD_AUDIT_KEY: key } });
    await audited(s, 3);
    await s.close();
    expect(fs.existsSync(path.join(dir, 'audit.key'))).toBe(false);
    expect(await verifyDir(dir, { ACCORD_AUDIT_KEY: key })).toMatchObject({ ok: true, checked: 3 });
    expect((await verifyDir(dir, { ACCORD_AUDIT_KEY: randomBytes(32).toString('hex') })).ok).toBe(false);
    // A key read from a file keeps its line break: it is the same key.
    expect(await verifyDir(dir, { ACCORD_AUDIT_KEY: `${key}\n` })).toMatchObject({ ok: true, checked: 3 });
  });

  it('refuses a key file others may read, and a data dir whose keyed log lost its key', async () => {
    const dir = tempDir();
    const s = await startTestService({ dir });
    await audited(s, 1);
    await s.close();
    fs.chmodSync(path.join(dir, 'audit.key'), 0o644);
    await expect(startTestService({ dir })).rejects.toThrow(/accessible to group or others \(mode 0644\).*chmod 600/);
    fs.rmSync(path.join(dir, 'audit.key'));
    await expect(startTestService({ dir })).rejects.toThrow(/keyed entries but there is no audit key/);
    expect(fs.existsSync(path.join(dir, 'audit.key'))).toBe(false);
  });
});

describe('upgrade from the unkeyed chain', () => {
  /** A data dir as the previous release left it: entries chained with unkeyed SHA-256, no key, no anchor. */
  async function oldDataDir(entries: number): Promise<string> {
    const dir = tempDir();
    await openDb(path.join(dir, 'accord.db')).$close();
    tamper(dir, (db) => {
      let prev = GENESIS;
      for (let i = 1; i <= entries; i++) {
        const row = { seq: i, at: `2026-01-0${i}T00:00:00.000Z`, actor: 'initial admin', role: 'admin', action: 'POST /v1/freezes', target: '/v1/freezes', outcome: 'ok', detail: '{"status":201}', prevHash: prev, hash: '', chain: '' };
        row.hash = unkeyedLink(prev, row);
        db.prepare('INSERT INTO audit_log (at, actor, role, action, target, outcome, detail, prev_hash, hash) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)').run(row.at, row.actor, row.role, row.action, row.target, row.outcome, row.detail, row.prevHash, row.hash);
        prev = row.hash;
      }
    });
    return dir;
  }

  it('anchors the legacy segment at the first start, links the first keyed entry to its head, and verifies', async () => {
    const dir = await oldDataDir(4);
    const legacyHead = (() => {
      const db = new Database(path.join(dir, 'accord.db'), { readonly: true });
      const head = db.prepare('SELECT hash FROM audit_log WHERE seq = 4').pluck().get() as string;
      db.close();
      return head;
    })();
    const s = await startTestService({ dir });
    expect(anchorAt(dir)).toMatchObject({ count: 4, head: { seq: 4, hash: legacyHead }, legacy: { count: 4, headSeq: 4, head: legacyHead } });
    await audited(s, 3);
    await s.close();
    const db = new Database(path.join(dir, 'accord.db'), { readonly: true });
    const rows = rowsOf(db);
    db.close();
    expect(rows.map((r) => r.chain)).toEqual(['sha256', 'sha256', 'sha256', 'sha256', 'hmac-sha256', 'hmac-sha256', 'hmac-sha256']);
    expect(rows[4]!.prevHash).toBe(legacyHead);
    expect(await verifyDir(dir)).toMatchObject({ ok: true, checked: 7, legacy: { count: 4, headSeq: 4, head: legacyHead }, anchor: { count: 7, legacy: { count: 4 } } });
    const cli = await runCli(['audit', 'verify'], { ACCORD_DATA_DIR: dir });
    expect(cli.code).toBe(0);
    expect(cli.stdout).toContain('7 entries checked (4 unkeyed from before the upgrade, 3 keyed)');
  });

  it('with ACCORD_AUDIT_KEY set before the first start of this release, asks for accord audit reanchor once, then starts and verifies', async () => {
    const dir = await oldDataDir(3);
    await GitRegistry.open(path.join(dir, 'registry')); // the previous release made the registry too
    const key = randomBytes(32).toString('hex');
    await expect(startTestService({ dir, env: { ACCORD_AUDIT_KEY: key } })).rejects.toThrow(/accord audit reanchor/);
    const reanchor = await runCli(['audit', 'reanchor', '--reason', 'upgrade to the keyed audit log'], { ACCORD_DATA_DIR: dir, ACCORD_AUDIT_KEY: key });
    expect(reanchor.code, reanchor.stderr).toBe(0);
    const s = await startTestService({ dir, env: { ACCORD_AUDIT_KEY: key } });
    await s.close();
    expect(await verifyDir(dir, { ACCORD_AUDIT_KEY: key })).toMatchObject({ ok: true, legacy: { count: 3 } });
  });

  it('reports legacy entries edited and re-chained after the upgrade, with or without keyed entries after them', async () => {
    for (const keyedAfter of [0, 2]) {
      const dir = await oldDataDir(4);
      const s = await startTestService({ dir });
      await audited(s, keyedAfter);
      await s.close();
      tamper(dir, (db) => {
        db.prepare("UPDATE audit_log SET actor = 'mallory' WHERE seq = 2").run();
        let prev = db.prepare('SELECT hash FROM audit_log WHERE seq = 1').pluck().get() as string;
        for (const r of rowsOf(db, 2).filter((r) => r.chain === 'sha256')) {
          const hash = unkeyedLink(prev, r);
          db.prepare('UPDATE audit_log SET prev_hash = ?, hash = ? WHERE seq = ?').run(prev, hash, r.seq);
          prev = hash;
        }
      });
      const result = await verifyDir(dir);
      expect(result.ok).toBe(false);
      const legacyProblem = result.problems.find((p) => p.message.startsWith('the unkeyed segment from before the upgrade'));
      expect(legacyProblem, JSON.stringify(result.problems)).toMatchObject({ kind: 'rechained' });
      const cli = await runCli(['audit', 'verify'], { ACCORD_DATA_DIR: dir });
      expect(cli.code).toBe(1);
      expect(cli.stdout).toContain('the unkeyed segment from before the upgrade has 4 entries');
    }
  });

  it('a new data dir starts with an anchor over the empty log', async () => {
    const dir = tempDir();
    const service = await openService(loadConfig({ ACCORD_DATA_DIR: dir, ACCORD_ADMIN_TOKEN: ADMIN_TOKEN, ACCORD_LOG_LEVEL: 'silent' }));
    await service.close();
    expect(anchorAt(dir)).toMatchObject({ count: 0, head: { seq: 0, hash: GENESIS }, legacy: { count: 0, headSeq: 0, head: GENESIS } });
  });
});
