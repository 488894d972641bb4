import { spawn } from 'node:child_process';
import { createHash } from 'node:crypto';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { Readable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import pino from 'pino';
import { appendAudit } from '../src/audit/log.ts';
import { createToken } from '../src/auth/tokens.ts';
import { loadConfig, PACKAGE_ROOT } from '../src/config.ts';
import { canonicalYaml, sha256 } from '../src/contracts/document.ts';
import { versionKey } from '../src/contracts/ids.ts';
import { contractPath, contractTag } from '../src/contracts/versions.ts';
import { openDb } from '../src/db/index.ts';
import { diffContracts } from '../src/diff/contract-diff.ts';
import type { DiffResult } from '../src/diff/types.ts';
import { parseYaml } from '../src/lib/yaml.ts';
import { policyDiffOptions } from '../src/matrix/policy.ts';
import { openService, type Service } from '../src/server.ts';

/** The data set's size: the issue's numbers by default. */
export interface ConsoleDataSize {
  partners: number;
  versionsPerApi: number;
  evidencePerVersion: number;
  auditEntries: number;
}

/** A built data dir, the tokens to sign in with, and names of things in it that pages show. */
export interface ConsoleDataSet {
  dir: string;
  tokens: { admin: string; approver: string; partner: string };
  /** Rows of the bulk tables, for the report. */
  counts: Record<string, number>;
  sample: {
    partner: string;
    api: string;
    /** The newest version (a draft), the newest released one, and two released versions of different majors to compare. */
    draft: string;
    released: string;
    compareFrom: string;
    compareTo: string;
    /** Change requests awaiting review (draft version), awaiting acknowledgements (approved, breaking), released. */
    changeInReview: string;
    changeAwaitingAcks: string;
    changeReleased: string;
    flow: string;
    /** The partner the `partner` token belongs to. */
    viewerPartner: string;
  };
}

const ADMIN_TOKEN = 'bench-admin-token-0123456789abcdef';
const APIS = ['p2p-exchange', 'claims-attachments', 'prior-authorization', 'provider-directory', 'formulary'];
const KINDS = ['contract-test', 'replay-test', 'duplicate-handling-test', 'failure-injection', 'rollback-plan', 'runbook'];
const DAY = 86_400_000;

const partnerName = (p: number) => `bench-payer-${String(p).padStart(2, '0')}`;
/**
 * Version i of an API with n versions: majors of 20 minors, aligned so that the five newest
 * (approved and drafts, see stateOf) open a new major: they are breaking against the last release.
 */
function versioning(n: number): { versionOf(i: number): string; majorOf(i: number): number } {
  const first = (n - 5) % 20;
  const majorOf = (i: number) => (i < first ? 1 : Math.floor((i - first) / 20) + 2);
  return { majorOf, versionOf: (i) => `${majorOf(i)}.${i < first ? i : (i - first) % 20}.0` };
}
/** Per API: the first half retired, then deprecated, released, three approved and two drafts. */
function stateOf(i: number, n: number): 'retired' | 'deprecated' | 'released' | 'approved' | 'draft' {
  if (i >= n - 2) return 'draft';
  if (i >= n - 5) return 'approved';
  if (i >= n - 20) return 'released';
  return i < n / 2 ? 'retired' : 'deprecated';
}
const hexId = (prefix: string, n: number) => `${prefix}_${n.toString(16).padStart(16, '0')}`;

/** A reference-network document of northwind-health/p2p-exchange, parsed. */
function reference(version: string): any {
  return parseYaml(fs.readFileSync(path.join(PACKAGE_ROOT, 'contracts/northwind-health/p2p-exchange', version, 'openapi.yaml'), 'utf8'), { maxAliases: 0 });
}

/** The people of the change story (tokens of an author, two approvers, CI and bluestem-mutual) and an API caller. */
export async function storyPeople(service: Service) {
  const newToken = async (role: 'author' | 'approver' | 'ci' | 'partner', name: string, partner?: string) => (await createToken(service.deps, 'bench', { role, name, partner })).token;
  /** An in-process API call with a bearer token; throws unless it succeeds. */
  const call = async (method: string, url: string, bearer: string, body?: unknown, type = 'application/json'): Promise<any> => {
    const res = await service.app.request(url, { method, headers: { Authorization: `Bearer ${bearer}`, 'Content-Type': type }, ...(body === undefined ? {} : { body: typeof body === 'string' ? body : JSON.stringify(body) }) });
    if (res.status >= 300) throw new Error(`${method} ${url} answered ${res.status}: ${await res.text()}`);
    return res.json();
  };
  return {
    call,
    newToken,
    alice: await newToken('author', 'alice'),
    bob: await newToken('approver', 'bob'),
    carol: await newToken('approver', 'carol'),
    ci: await newToken('ci', 'ci-pipeline'),
    bluestem: await newToken('partner', 'bluestem ops', 'bluestem-mutual'),
  };
}

/**
 * A breaking change, the way the change-control end-to-end test tells it, through the API of
 * a seeded service: alice registers northwind-health/p2p-exchange 3.0.0 (finalisation must say
 * who finalised), extends the flows it touches to 3.x and opens the change request; bob and
 * carol approve; CI posts passing evidence of every kind. What remains: bluestem-mutual's
 * acknowledgement, then the gate and the release.
 */
export async function breakingChangeStory(people: Awaited<ReturnType<typeof storyPeople>>): Promise<string> {
  const { call, alice, bob, carol, ci } = people;
  const v3 = reference('2.0.0');
  v3.info.version = '3.0.0';
  v3.components.schemas.Finalization.required.push('finalizedBy');
  v3.components.schemas.Finalization.properties.finalizedBy = { type: 'string' };
  const sha = (await call('POST', '/v1/contracts/northwind-health/p2p-exchange/versions', alice, v3)).sha256 as string;
  for (const flow of ['finalisation', 'payer-data-export']) {
    await call('PUT', `/v1/control-matrix/${flow}`, alice, fs.readFileSync(path.join(PACKAGE_ROOT, `control-matrix/${flow}.yaml`), 'utf8').replace('>=1.0.0 <3.0.0', '>=1.0.0 <4.0.0'), 'application/yaml');
  }
  const change = await call('POST', '/v1/changes', alice, { partner: 'northwind-health', api: 'p2p-exchange', version: '3.0.0', summary: 'Finalisation must say who finalised' });
  for (const approver of [bob, carol]) await call('POST', `/v1/changes/${change.id}/reviews`, approver, { decision: 'approve', comment: 'Reviewed the diff and the rollback plan' });
  for (const kind of KINDS) {
    await call('POST', '/v1/evidence', ci, { partner: 'northwind-health', api: 'p2p-exchange', version: '3.0.0', kind, result: 'pass', sha256: sha, uri: `https://ci.example/northwind/${kind}`, environment: 'staging', commit: 'a1b2c3d4e5f6', producedAt: new Date(Date.now() - DAY).toISOString() });
  }
  return change.id as string;
}

/** Rows inserted with a prepared statement over `template`'s columns (a real row), each overriding some of them. */
function cloner(client: NonNullable<ReturnType<typeof openDb>['$sqlite']>, table: string, template: Record<string, unknown>) {
  const columns = Object.keys(template);
  const statement = client.prepare(`INSERT INTO "${table}" (${columns.map((c) => `"${c}"`).join(', ')}) VALUES (${columns.map((c) => `@${c}`).join(', ')})`);
  return (overrides: Record<string, unknown>) => statement.run({ ...template, ...overrides });
}

/** Runs `git fast-import` in the bare repository with the stream the generator yields. */
async function fastImport(repo: string, stream: Iterable<string>): Promise<void> {
  const child = spawn('git', ['fast-import', '--quiet'], { cwd: repo, stdio: ['pipe', 'inherit', 'inherit'] });
  const exited = new Promise<number | null>((resolve) => child.once('close', resolve));
  await pipeline(Readable.from(stream), child.stdin);
  const code = await exited;
  if (code !== 0) throw new Error(`git fast-import exited with ${code}`);
}

/**
 * Builds the console bench's data set in a new data dir, fast but through real parts: the real
 * migrations and the seeded reference network; one real change story over the API (a breaking
 * northwind-health 3.0.0: change request, approvals, evidence, acknowledgement, gate, release)
 * whose rows are the templates of the bulk rows; the audit entries through the real keyed chain;
 * then `partners` × 5 APIs × `versionsPerApi` contract versions (real canonical documents,
 * committed and tagged in the Git registry by one `git fast-import`) with one change request
 * each (the real diff of its documents), reviews, acknowledgements, `evidencePerVersion`
 * evidence records, gate decisions, releases, deprecations and notices, inserted with SQL.
 */
export async function buildConsoleDataSet(size: ConsoleDataSize = { partners: 10, versionsPerApi: 200, evidencePerVersion: 10, auditEntries: 20_000 }): Promise<ConsoleDataSet> {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'accord-console-bench-'));
  const config = loadConfig({ ACCORD_DATA_DIR: dir, ACCORD_ADMIN_TOKEN: ADMIN_TOKEN, ACCORD_SEED_DIR: PACKAGE_ROOT, ACCORD_LOG_LEVEL: 'silent' });
  const service = await openService(config, { logger: pino({ level: 'silent' }) });
  const { deps } = service;
  const viewerPartner = partnerName(2);
  const story = await storyPeople(service);
  const tokens = { admin: ADMIN_TOKEN, approver: await story.newToken('approver', 'dana'), partner: await story.newToken('partner', `${viewerPartner} portal`, viewerPartner) };
  const changeId = await breakingChangeStory(story);
  await story.call('POST', `/v1/changes/${changeId}/acknowledgements`, story.bluestem, { comment: 'We are ready' });
  const decision = await story.call('POST', '/v1/gate/check', story.ci, { partner: 'northwind-health', api: 'p2p-exchange', version: '3.0.0', environment: 'production' });
  if (decision.verdict !== 'pass') throw new Error(`the template gate answered ${decision.verdict}`);
  await story.call('POST', '/v1/releases', story.ci, { partner: 'northwind-health', api: 'p2p-exchange', version: '3.0.0', environment: 'production' });

  // The bench documents: two real contracts (odd majors 1.1.0's content, even majors 2.0.0's), and the real diffs between them.
  const bases = ['1.1.0', '2.0.0'].map((v) => {
    const doc = reference(v);
    doc.info.version = '0.0.0-placeholder';
    doc.info.title = 'TITLE-PLACEHOLDER';
    return canonicalYaml(doc);
  });
  const documentOf = (kind: number, title: string, version: string) => bases[kind]!.replace('  title: TITLE-PLACEHOLDER\n', `  title: ${title}\n`).replace('  version: 0.0.0-placeholder\n', `  version: ${version}\n`);
  const parsed = bases.map((b) => parseYaml(b, { maxAliases: 0 }));
  const options = await policyDiffOptions(deps);
  const empty = { openapi: '3.1.0', paths: {} };
  /** diffs[base kind + 1][kind]: base kind -1 is "no earlier version". */
  const diffs: DiffResult[][] = [-1, 0, 1].map((from) => [0, 1].map((to) => diffContracts(from < 0 ? empty : parsed[from], parsed[to], options)));

  // Audit entries through the real chain, like a busy year of API calls and console sign-ins.
  const actions = ['POST /v1/contracts/:partner/:api/versions', 'POST /v1/changes', 'POST /v1/changes/:id/reviews', 'POST /v1/evidence', 'gate.decision', 'console.sign-in', 'POST /v1/releases'];
  for (let i = 0; i < size.auditEntries; i++) {
    const p = partnerName(i % size.partners);
    await appendAudit(deps, { actor: ['alice', 'bob', 'carol', 'ci-pipeline'][i % 4]!, role: ['author', 'approver', 'approver', 'ci'][i % 4]!, action: actions[i % actions.length]!, target: `${p}/${APIS[i % APIS.length]}`, outcome: i % 17 === 0 ? 'refused' : 'ok', detail: { status: i % 17 === 0 ? 403 : 201, requestId: `bench-${i}` } });
  }

  const client = deps.db.$sql;
  const one = async (sql: string, ...args: unknown[]) => (await client.get(sql, [...args])) as Record<string, unknown>;
  const templates = {
    version: await one("SELECT * FROM contract_versions WHERE partner = 'northwind-health' AND version = '3.0.0'"),
    change: await one('SELECT * FROM change_requests WHERE id = ?', changeId),
    review: await one('SELECT * FROM change_reviews WHERE change_id = ? LIMIT 1', changeId),
    ack: await one('SELECT * FROM change_acks WHERE change_id = ?', changeId),
    evidence: await one("SELECT * FROM evidence WHERE version = '3.0.0' LIMIT 1"),
    decision: await one('SELECT * FROM gate_decisions WHERE id = ?', decision.decisionId),
    release: await one("SELECT * FROM releases WHERE version = '3.0.0'"),
    notice: await one("SELECT * FROM notices WHERE kind = 'breaking-release' LIMIT 1"),
  };
  const approverTokens: Record<string, string> = {};
  for (const name of ['bob', 'carol']) approverTokens[name] = ((await one('SELECT id FROM tokens WHERE name = ?', name)) as { id: string }).id;
  const aliceTokenId = (await one("SELECT id FROM tokens WHERE name = 'alice'") as { id: string }).id;
  await service.close();

  // Every bench version's document in one commit on main, each with its annotated tag, as registration makes them.
  const repo = path.join(dir, 'registry');
  const head = (await gitOut(repo, ['rev-parse', 'main'])).trim();
  interface Version {
    p: number;
    api: string;
    i: number;
    version: string;
    sha: string;
    size: number;
    kind: number;
  }
  const versions: Version[] = [];
  const n = size.versionsPerApi;
  const { versionOf, majorOf } = versioning(n);
  for (let p = 0; p < size.partners; p++) {
    for (const api of APIS) {
      for (let i = 0; i < n; i++) {
        const version = versionOf(i);
        const kind = majorOf(i) % 2;
        const text = documentOf(kind, `${partnerName(p)} ${api}`, version);
        versions.push({ p, api, i, version, sha: sha256(text), size: Buffer.byteLength(text), kind });
      }
    }
  }
  const at = Math.floor(Date.now() / 1000) - 1;
  const data = (text: string) => `data ${Buffer.byteLength(text)}\n${text}\n`;
  await fastImport(
    repo,
    (function* () {
      for (const [n, v] of versions.entries()) yield `blob\nmark :${n + 1}\n${data(documentOf(v.kind, `${partnerName(v.p)} ${v.api}`, v.version))}`;
      yield `commit refs/heads/main\nmark :${versions.length + 1}\nauthor bench <bench@accord.invalid> ${at} +0000\ncommitter Accord <accord@localhost> ${at} +0000\n${data(`Register ${versions.length} bench contract versions`)}from ${head}\n`;
      for (const [n, v] of versions.entries()) yield `M 100644 :${n + 1} ${contractPath(partnerName(v.p), v.api, v.version)}\n`;
      yield '\n';
      for (const v of versions) yield `tag ${contractTag(partnerName(v.p), v.api, v.version)}\nfrom :${versions.length + 1}\ntagger Accord <accord@localhost> ${at} +0000\n${data(`Contract ${partnerName(v.p)}/${v.api} ${v.version} (sha256 ${v.sha})`)}`;
    })(),
  );
  const commit = (await gitOut(repo, ['rev-parse', 'main'])).trim();

  const db = openDb(path.join(dir, 'accord.db'));
  const sqlite = db.$sqlite!;
  const insert = {
    version: cloner(sqlite, 'contract_versions', templates.version),
    change: cloner(sqlite, 'change_requests', templates.change),
    review: cloner(sqlite, 'change_reviews', templates.review),
    ack: cloner(sqlite, 'change_acks', templates.ack),
    evidence: cloner(sqlite, 'evidence', templates.evidence),
    decision: cloner(sqlite, 'gate_decisions', templates.decision),
    release: cloner(sqlite, 'releases', templates.release),
    notice: cloner(sqlite, 'notices', templates.notice),
    deprecation: sqlite.prepare('INSERT INTO deprecations (partner, api, version, deprecated_at, sunset, successor, reason, sunset_notice_at, created_by) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)'),
  };
  const now = Date.now();
  const counts: Record<string, number> = {};
  const count = (table: string) => (counts[table] = (counts[table] ?? 0) + 1);
  sqlite.transaction(() => {
    for (const [g, v] of versions.entries()) {
      const partner = partnerName(v.p);
      const { api, version, i } = v;
      const state = stateOf(i, n);
      // A year of history, oldest version first, the newest a day old.
      const created = now - 366 * DAY + (i * size.partners * APIS.length + v.p * APIS.length + APIS.indexOf(api)) * ((365 * DAY) / versions.length);
      const iso = (offset: number) => new Date(created + offset).toISOString();
      insert.version({ partner, api, version, version_key: versionKey(version), state, sha256: v.sha, commit, tag: contractTag(partner, api, version), size_bytes: v.size, created_at: iso(0), created_by: 'alice' });
      count('contract_versions');

      // Against the production release before it (all versions up to the last released one are released in order).
      const baseIndex = Math.min(i - 1, n - 6);
      const base = baseIndex >= 0 ? versions[g - i + baseIndex]! : undefined;
      const diff = diffs[base ? base.kind + 1 : 0]![v.kind]!;
      const diffHash = createHash('sha256').update(JSON.stringify({ base: base?.sha ?? null, content: v.sha, changes: diff.changes })).digest('hex');
      const breaking = diff.summary.breaking > 0;
      const consumers = [...(api === 'p2p-exchange' ? ['bluestem-mutual', 'northwind-health'] : []), ...Array.from({ length: size.partners }, (_, q) => partnerName(q)).filter((q) => q !== partner)];
      const changeId = hexId('chg', g + 1);
      insert.change({
        id: changeId,
        partner,
        api,
        version,
        content_sha256: v.sha,
        base_version: base?.version ?? null,
        diff: JSON.stringify(diff),
        diff_hash: diffHash,
        breaking: breaking ? 1 : 0,
        summary: breaking ? `${version}: finalisation must say who finalised (breaking)` : `${version}: documentation and optional fields`,
        flows: JSON.stringify(api === 'p2p-exchange' && i < 40 ? ['finalisation', 'payer-data-export'] : []),
        required_approvals: breaking ? 2 : 1,
        required_acks: JSON.stringify(breaking ? consumers : []),
        required_evidence: JSON.stringify(breaking ? KINDS : ['contract-test', 'duplicate-handling-test']),
        created_at: iso(60_000),
        created_by: 'alice',
        created_by_token: aliceTokenId,
      });
      count('change_requests');
      if (state !== 'draft') {
        for (const [r, name] of (breaking ? ['bob', 'carol'] : ['bob']).entries()) {
          insert.review({ id: hexId('rev', g * 2 + r + 1), change_id: changeId, decision: 'approve', comment: 'Reviewed the diff and the rollback plan', diff_hash: diffHash, reviewer: name, reviewer_token: approverTokens[name], created_at: iso(3_600_000 + r) });
          count('change_reviews');
        }
        // Approved versions still wait for half their partners.
        const acked = breaking ? (state === 'approved' ? consumers.slice(0, Math.floor(consumers.length / 2)) : consumers) : [];
        for (const [k, q] of acked.entries()) {
          insert.ack({ id: hexId('ack', g * 16 + k + 1), change_id: changeId, partner: q, diff_hash: diffHash, comment: 'We are ready', created_at: iso(7_200_000 + k), created_by: `${q} portal` });
          count('change_acks');
        }
      }
      // Earlier records first (failed runs of this content, runs for other content), then a passing run of each kind.
      const earlier = size.evidencePerVersion - KINDS.length;
      for (let e = 0; e < size.evidencePerVersion; e++) {
        const kind = KINDS[e % KINDS.length]!;
        const result = e < earlier && e % 2 === 0 ? 'fail' : 'pass';
        const sha = e < earlier && e % 2 === 1 ? 'f'.repeat(64) : v.sha;
        insert.evidence({ id: hexId('evd', g * size.evidencePerVersion + e + 1), partner, api, version, kind, result, sha256: sha, uri: `https://ci.example/${partner}/${api}/${version}/${kind}/${e}`, environment: 'staging', commit: 'a1b2c3d4e5f6', produced_at: iso(1_800_000 + e), expires_at: null, report: null, report_sha256: null, created_at: iso(1_800_000 + e), created_by: 'ci-pipeline' });
        count('evidence');
      }
      if (state === 'retired' || state === 'deprecated' || state === 'released') {
        const decisionId = hexId('dec', g + 1);
        insert.decision({ id: decisionId, partner, api, version, environment: 'production', content_sha256: v.sha, verdict: 'pass', created_at: iso(10_000_000), requested_by: 'ci-pipeline' });
        insert.release({ id: hexId('rel', g + 1), partner, api, version, environment: 'production', content_sha256: v.sha, decision_id: decisionId, created_at: iso(10_000_001), created_by: 'ci-pipeline' });
        count('gate_decisions');
        count('releases');
        if (breaking) {
          insert.notice({ id: hexId('ntc', g * 3 + 1), kind: 'breaking-release', partner, api, version, title: `Breaking release: ${partner}/${api} ${version} in production`, body: `${partner}/${api} ${version} is released to production with ${diff.summary.breaking} breaking changes.`, audience: JSON.stringify([partner, ...consumers]), created_at: iso(10_000_002) });
          count('notices');
        }
      }
      if (state === 'retired' || state === 'deprecated') {
        // Retired: sunset passed (and told); deprecated: sunsets spread over the coming year.
        const sunset = state === 'retired' ? created + 200 * DAY : now + (30 + ((i * 7 + v.p * 13) % 330)) * DAY;
        const successor = versionOf(n - 6);
        insert.deprecation.run(partner, api, version, iso(100 * DAY), new Date(sunset).toISOString(), successor, `Superseded by ${successor}`, state === 'retired' ? new Date(Math.min(sunset, now)).toISOString() : null, 'alice');
        count('deprecations');
        insert.notice({ id: hexId('ntc', g * 3 + 2), kind: 'deprecation', partner, api, version, title: `${partner}/${api} ${version} is deprecated; sunset ${new Date(sunset).toISOString().slice(0, 10)}`, body: `Move to ${successor}.`, audience: JSON.stringify([partner, ...consumers]), created_at: iso(100 * DAY) });
        count('notices');
        if (state === 'retired') {
          insert.notice({ id: hexId('ntc', g * 3 + 3), kind: 'sunset-reached', partner, api, version, title: `${partner}/${api} ${version} reached its sunset and is retired`, body: `Use ${successor}.`, audience: JSON.stringify([partner, ...consumers]), created_at: new Date(Math.min(sunset, now)).toISOString() });
          count('notices');
        }
      }
    }
  })();
  counts.audit_log = ((await db.$sql.get('SELECT count(*) AS n FROM audit_log')) as { n: number }).n;
  await db.$close();

  const p = partnerName(1);
  const idOf = (partner: string, api: string, i: number) => hexId('chg', versions.findIndex((v) => partnerName(v.p) === partner && v.api === api && v.i === i) + 1);
  return {
    dir,
    tokens,
    counts,
    sample: {
      partner: p,
      api: 'p2p-exchange',
      draft: versionOf(n - 1),
      released: versionOf(n - 6),
      compareFrom: versionOf(n - 26),
      compareTo: versionOf(n - 6),
      changeInReview: idOf(p, 'p2p-exchange', n - 1),
      changeAwaitingAcks: idOf(p, 'p2p-exchange', n - 3),
      changeReleased: idOf(p, 'p2p-exchange', n - 6),
      flow: 'finalisation',
      viewerPartner,
    },
  };
}

function gitOut(cwd: string, args: string[]): Promise<string> {
  return new Promise((resolve, reject) => {
    const child = spawn('git', args, { cwd });
    let out = '';
    child.stdout.on('data', (d) => (out += d));
    child.on('error', reject);
    child.on('close', (code) => (code === 0 ? resolve(out) : reject(new Error(`git ${args.join(' ')} exited with ${code}`))));
  });
}
