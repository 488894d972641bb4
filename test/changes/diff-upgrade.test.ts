import { createHash } from 'node:crypto';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { restoreBackup } from '../../src/backup/restore.ts';
import { ACCORD_DIFF_ENGINE, diffHash, type DiffEngine } from '../../src/changes/snapshot.ts';
import { diffContracts } from '../../src/diff/contract-diff.ts';
import { canonicalRule } from '../../src/diff/rules/index.ts';
import { summarise, type Change, type Level } from '../../src/diff/types.ts';
import { ADMIN_TOKEN, REPO_ROOT, runCli, startTestService, type TestService } from '../harness.ts';
import { signIn } from '../console-helpers.ts';

/**
 * Nothing goes stale on upgrade (issue 17, ADR 0022): an open change request keeps its reviews
 * and acknowledgements when a newer diff engine rewords, renames (with an alias), re-levels
 * downwards or adds warnings; a new *breaking* finding on the same content is found after
 * review — appended to the snapshot, listed by the API, the console and the CLI, pending at the
 * gate until the amended diff is reviewed again. A newer engine is injected as a real one:
 * Accord's own diff plus a rule it "learned" (a check on the two documents), never a mock.
 */

/** A member API document of our own: `coverage` keeps the coverage operation, `nickname` adds an optional response property. */
function memberApi(version: string, o: { coverage?: boolean; nickname?: boolean } = {}): string {
  return `openapi: 3.1.0
info:
  title: Members
  version: ${version}
paths:
  /members/{id}:
    get:
      operationId: getMember
      summary: Read one member
      parameters:
        - name: id
          in: path
          required: true
          schema:
            type: string
      responses:
        '200':
          description: The member
          content:
            application/json:
              schema:
                type: object
                properties:
                  id:
                    type: string
${o.nickname ? '                  nickname:\n                    type: string\n' : ''}${o.coverage === false ? '' : `  /members/{id}/coverage:
    get:
      operationId: getCoverage
      summary: Read a member's coverage
      parameters:
        - name: id
          in: path
          required: true
          schema:
            type: string
      responses:
        '200':
          description: The coverage
`}`;
}

const LEARNED = 'info-version-changed-test';

/**
 * A newer engine: Accord's diff, then what the test asks of it — a rule it learned (the
 * document's info.version changed, at `learns`'s level), messages reworded, a rule renamed
 * (its old id an alias, or not), a rule re-levelled.
 */
function newerEngine(o: { learns?: Level; reword?: boolean; rename?: { from: string; to: string; alias: boolean }; relevel?: { rule: string; level: Level } }): DiffEngine {
  return {
    diff(base, revision, options) {
      const today = diffContracts(base, revision, options);
      let changes: Change[] = today.changes.map((c) => ({
        ...c,
        ...(o.reword ? { message: `Newer wording: ${c.message}` } : {}),
        ...(o.rename && c.rule === o.rename.from ? { rule: o.rename.to } : {}),
        ...(o.relevel && c.rule === o.relevel.rule ? { level: o.relevel.level } : {}),
      }));
      const from = (base as { info?: { version?: string } }).info?.version;
      const to = (revision as { info?: { version?: string } }).info?.version;
      if (o.learns && from !== undefined && from !== to) {
        changes = [...changes, { rule: LEARNED, level: o.learns, direction: 'response', location: '/info/version', message: `the document's version changed from ${from} to ${to}` }];
      }
      return summarise(changes);
    },
    canonicalRule: (id) => (o.rename?.alias && id === o.rename.from ? o.rename.to : ACCORD_DIFF_ENGINE.canonicalRule(id)),
  };
}

/** The hash format of releases before ADR 0022 (whole findings, messages included), to recognise one stored then. */
function formatOneHash(base: string | null, content: string, changes: unknown[]): string {
  return createHash('sha256').update(JSON.stringify({ base, content, changes })).digest('hex');
}

const finding = (rule: string, level: Level, location: string, message = 'm'): Change => ({ rule, level, direction: 'request', location, message });

describe('the diff hash covers what a reviewer judges', () => {
  const a = finding('request-parameter-removed', 'breaking', '/paths/~1a/get/parameters/0', 'parameter q removed');
  const b = finding('response-property-added', 'info', '/paths/~1a/get/responses/200', 'property x added');
  const hash = (changes: Change[], canonical = canonicalRule) => diffHash('b'.repeat(64), 'c'.repeat(64), changes, canonical);

  it('not message wording, nor the order of findings, nor a rule renamed with its old id as an alias', () => {
    expect(hash([a, b])).toBe(hash([b, { ...a, message: 'the q parameter is gone' }]));
    const renamed = (id: string) => (id === 'request-parameter-removed' ? 'request-parameter-deleted' : id);
    expect(hash([a, b], renamed)).toBe(hash([{ ...a, rule: 'request-parameter-deleted' }, b], renamed));
  });

  it('but the rule, its level, its location, the base and the content', () => {
    const all = [hash([a, b]), hash([{ ...a, rule: 'request-parameter-became-optional' }, b]), hash([{ ...a, level: 'warning' }, b]), hash([{ ...a, location: '/paths/~1a/get/parameters/1' }, b]), hash([a])];
    expect(new Set(all).size).toBe(all.length);
    expect(diffHash(null, 'c'.repeat(64), [a])).not.toBe(diffHash('b'.repeat(64), 'c'.repeat(64), [a]));
    expect(diffHash('b'.repeat(64), 'd'.repeat(64), [a])).not.toBe(diffHash('b'.repeat(64), 'c'.repeat(64), [a]));
  });
});

describe('an open change request across diff-engine upgrades', () => {
  let s: TestService;
  let approvers: string[];
  let zenith: string;
  const json = (method: string, url: string, body?: unknown, token?: string) => s.call(method, url, { ...(body === undefined ? {} : { body: JSON.stringify(body), type: 'application/json' }), ...(token ? { token } : {}) });
  const register = async (api: string, version: string, yaml: string) => expect((await s.call('POST', `/v1/contracts/acme/${api}/versions?version=${version}`, { body: yaml, type: 'application/yaml' })).status).toBe(201);
  const view = async (id: string) => (await s.call('GET', `/v1/changes/${id}`)).json();
  const gate = async (api: string, version: string) => (await json('POST', '/v1/gate/check', { partner: 'acme', api, version, environment: 'production' })).json();
  const reason = (answer: { reasons: Array<{ rule: string }> }, rule: string) => answer.reasons.find((r) => r.rule === rule);
  const audit = async (changeId: string) => ((await (await s.call('GET', '/v1/audit?limit=1000')).json()) as Array<{ action: string; detail: Record<string, unknown> }>).filter((e) => e.action === 'change.found-after-review' && e.detail.changeId === changeId);

  /** Opens, approves (two approvers) and acknowledges (zenith) a breaking change request of acme/<api>@2.0.0. */
  async function reviewedBreakingChange(api: string) {
    await register(api, '1.0.0', memberApi('1.0.0'));
    await register(api, '2.0.0', memberApi('2.0.0', { coverage: false }));
    expect((await s.call('PUT', `/v1/contracts/acme/${api}/consumers`, { body: JSON.stringify({ consumers: ['zenith'] }), type: 'application/json' })).status).toBe(200);
    const change = await (await json('POST', '/v1/changes', { partner: 'acme', api, version: '2.0.0', summary: 'coverage moves to its own API' })).json();
    expect(change).toMatchObject({ breaking: true, requires: { approvals: 2, acknowledgements: ['zenith'] } });
    for (const approver of approvers) expect((await json('POST', `/v1/changes/${change.id}/reviews`, { decision: 'approve' }, approver)).status).toBe(201);
    expect((await json('POST', `/v1/changes/${change.id}/acknowledgements`, {}, zenith)).status).toBe(201);
    return change as { id: string; diffHash: string };
  }

  beforeAll(async () => {
    s = await startTestService();
    approvers = [await s.token('approver'), await s.token('approver')];
    zenith = await s.token('partner', 'zenith');
  });
  afterAll(async () => await s.cleanup());

  it('keeps its reviews and acknowledgements when the engine rewords, renames with an alias, adds warnings and infos, or lowers a level', async () => {
    delete s.deps.diffEngine;
    const change = await reviewedBreakingChange('members-a');
    const before = await view(change.id);
    const decided = await gate('members-a', '2.0.0');
    expect(reason(decided, 'approvals')).toMatchObject({ status: 'met' });
    expect(reason(decided, 'acknowledgements')).toMatchObject({ status: 'met' });
    // Rewording does not even change the hash of what a reviewer judges; the others do, and nothing compares it with the stored one.
    const upgrades: Array<[DiffEngine, 'same hash' | 'other hash']> = [
      [newerEngine({ reword: true }), 'same hash'],
      [newerEngine({ rename: { from: 'api-path-removed-without-deprecation', to: 'endpoint-removed-without-deprecation', alias: true } }), 'other hash'],
      [newerEngine({ learns: 'warning', reword: true }), 'other hash'],
      [newerEngine({ learns: 'info' }), 'other hash'],
      [newerEngine({ relevel: { rule: 'api-path-removed-without-deprecation', level: 'warning' } }), 'other hash'],
    ];
    for (const [engine, hash] of upgrades) {
      s.deps.diffEngine = engine;
      const now = await view(change.id);
      expect(now.currentDiffHash === change.diffHash ? 'same hash' : 'other hash').toBe(hash);
      expect({ diffHash: now.diffHash, diff: now.diff, stale: now.stale, foundAfterReview: now.foundAfterReview, breaking: now.breaking, requires: now.requires }).toEqual({ diffHash: before.diffHash, diff: before.diff, stale: false, foundAfterReview: [], breaking: true, requires: before.requires });
      expect(now.reviews.map((r: { counts: boolean }) => r.counts)).toEqual([true, true]);
      expect(now.acknowledgements.map((a: { counts: boolean }) => a.counts)).toEqual([true]);
      const answer = await gate('members-a', '2.0.0');
      expect(reason(answer, 'change-request')).toMatchObject({ status: 'met' });
      expect(reason(answer, 'approvals')).toMatchObject({ status: 'met' });
      expect(reason(answer, 'acknowledgements')).toMatchObject({ status: 'met' });
      expect(reason(answer, 'found-after-review')).toBeUndefined();
    }
    expect(await audit(change.id)).toEqual([]);
    // The decision taken by the engine of the time still re-derives as it was.
    const stored = await (await s.call('GET', `/v1/gate/decisions/${decided.decisionId}`)).json();
    expect(stored.rederivation).toEqual({ inputsHashMatches: true, verdict: decided.verdict, matches: true });
  });

  it('a rename without an alias is a breaking finding the board has not seen: the alias is what keeps the reviews', async () => {
    delete s.deps.diffEngine;
    const change = await reviewedBreakingChange('members-b');
    s.deps.diffEngine = newerEngine({ rename: { from: 'api-path-removed-without-deprecation', to: 'endpoint-removed-without-deprecation', alias: false } });
    const now = await view(change.id);
    expect(now.foundAfterReview).toEqual([expect.objectContaining({ rule: 'endpoint-removed-without-deprecation', level: 'breaking', reviewedHash: change.diffHash })]);
  });

  it('a new breaking finding is found after review: listed, pending at the gate, reviews and acknowledgements asked again, and re-reviewed', async () => {
    delete s.deps.diffEngine;
    const change = await reviewedBreakingChange('members-c');
    const decided = await gate('members-c', '2.0.0');
    const before = await view(change.id);
    s.deps.diffEngine = newerEngine({ learns: 'breaking', reword: true });

    // Three readers at once (a gate check among them): the change is amended once.
    const [now, again] = await Promise.all([view(change.id), view(change.id), gate('members-c', '2.0.0')]);
    expect(again.diffHash).toBe(now.diffHash);
    expect(now.stale).toBe(false);
    expect(now.foundAfterReview).toEqual([{ rule: LEARNED, level: 'breaking', location: '/info/version', message: "the document's version changed from 1.0.0 to 2.0.0", at: expect.any(String), reviewedHash: change.diffHash }]);
    // The snapshot is the reviewed one (its own wording) with the finding appended and marked.
    expect(now.diff.changes.slice(0, -1)).toEqual(before.diff.changes);
    expect(now.diff.changes.at(-1)).toMatchObject({ rule: LEARNED, foundAfterReview: { reviewedHash: change.diffHash } });
    expect(now.diffSummary).toMatchObject({ breaking: 2, total: 2 });
    expect(now.diffHash).not.toBe(change.diffHash);
    expect(now.reviews.map((r: { counts: boolean; diffHash: string }) => [r.counts, r.diffHash])).toEqual([[false, change.diffHash], [false, change.diffHash]]);
    expect(now.acknowledgements.map((a: { counts: boolean }) => a.counts)).toEqual([false]);

    const pending = await gate('members-c', '2.0.0');
    expect(reason(pending, 'change-request')).toMatchObject({ status: 'met' });
    expect(reason(pending, 'found-after-review')).toMatchObject({ status: 'pending', message: expect.stringContaining(`${LEARNED} at /info/version`), howToFix: expect.stringContaining(now.diffHash) });
    expect(reason(pending, 'approvals')).toMatchObject({ status: 'pending', message: expect.stringContaining('2 review(s) were for a different diff') });
    expect(reason(pending, 'acknowledgements')).toMatchObject({ status: 'pending' });

    // Amended once, audited once, whoever reads it next.
    expect(await view(change.id)).toMatchObject({ diffHash: now.diffHash });
    expect(await audit(change.id)).toEqual([expect.objectContaining({ detail: expect.objectContaining({ changeId: change.id, reviewedHash: change.diffHash, diffHash: now.diffHash, findings: [{ rule: LEARNED, location: '/info/version' }] }) })]);
    const notices = (await (await s.call('GET', '/v1/notices', { token: zenith })).json()) as Array<{ kind: string; title: string }>;
    expect(notices.filter((n) => n.kind === 'acknowledgement-requested' && n.title.includes(change.id) && n.title.includes('found after review'))).toHaveLength(1);

    // A review of the diff the reviewer read before is refused; the amended one is reviewed afresh.
    const late = await json('POST', `/v1/changes/${change.id}/reviews`, { decision: 'approve', diffHash: change.diffHash }, approvers[0]);
    expect(late.status).toBe(409);
    expect((await late.json()).detail).toContain('found after review');
    for (const approver of approvers) expect((await json('POST', `/v1/changes/${change.id}/reviews`, { decision: 'approve', diffHash: now.diffHash }, approver)).status).toBe(201);
    expect((await json('POST', `/v1/changes/${change.id}/acknowledgements`, { comment: 'seen the version change' }, zenith)).status).toBe(201);
    const reviewed = await gate('members-c', '2.0.0');
    expect(reason(reviewed, 'found-after-review')).toMatchObject({ status: 'met', message: expect.stringContaining('the amended diff was approved by') });
    expect(reason(reviewed, 'approvals')).toMatchObject({ status: 'met' });
    expect(reason(reviewed, 'acknowledgements')).toMatchObject({ status: 'met' });

    // Decisions stored before the upgrade re-derive with today's gate as they were.
    for (const d of [decided, pending, reviewed]) {
      const stored = await (await s.call('GET', `/v1/gate/decisions/${d.decisionId}`)).json();
      expect(stored.rederivation).toEqual({ inputsHashMatches: true, verdict: d.verdict, matches: true });
    }
  });

  it('a non-breaking change that a newer engine finds breaking asks what the policy asks of breaking changes', async () => {
    delete s.deps.diffEngine;
    await register('members-d', '1.0.0', memberApi('1.0.0'));
    await register('members-d', '1.1.0', memberApi('1.1.0', { nickname: true }));
    expect((await s.call('PUT', '/v1/contracts/acme/members-d/consumers', { body: JSON.stringify({ consumers: ['zenith'] }), type: 'application/json' })).status).toBe(200);
    const change = await (await json('POST', '/v1/changes', { partner: 'acme', api: 'members-d', version: '1.1.0', summary: 'a nickname' })).json();
    expect(change).toMatchObject({ breaking: false, requires: { approvals: 1, acknowledgements: [], evidence: ['contract-test'] } });
    expect((await json('POST', `/v1/changes/${change.id}/reviews`, { decision: 'approve' }, approvers[0])).status).toBe(201);
    s.deps.diffEngine = newerEngine({ learns: 'breaking' });
    const now = await view(change.id);
    expect(now).toMatchObject({ breaking: true, bump: 'major', requires: { approvals: 2, acknowledgements: ['zenith'], evidence: expect.arrayContaining(['contract-test', 'rollback-plan', 'runbook']) } });
    expect(now.impact.consumers).toEqual([expect.objectContaining({ consumer: 'zenith', affected: true })]);
    const answer = await gate('members-d', '1.1.0');
    expect(reason(answer, 'approvals')).toMatchObject({ status: 'pending', message: expect.stringContaining('0 of 2 approvals') });
    expect(reason(answer, 'acknowledgements')).toMatchObject({ status: 'pending', message: expect.stringContaining('zenith') });
  });

  it('a rejection stands: not un-done by findings after review, and not wiped out by reopening under a newer engine', async () => {
    delete s.deps.diffEngine;
    await register('members-e', '1.0.0', memberApi('1.0.0'));
    await register('members-e', '2.0.0', memberApi('2.0.0', { coverage: false }));
    const change = await (await json('POST', '/v1/changes', { partner: 'acme', api: 'members-e', version: '2.0.0', summary: 'coverage goes' })).json();
    expect((await json('POST', `/v1/changes/${change.id}/reviews`, { decision: 'reject', comment: 'partners still read coverage' }, approvers[0])).status).toBe(201);
    s.deps.diffEngine = newerEngine({ reword: true, learns: 'warning' });
    expect((await json('POST', '/v1/changes', { partner: 'acme', api: 'members-e', version: '2.0.0', summary: 'again' })).status).toBe(409);
    s.deps.diffEngine = newerEngine({ learns: 'breaking' });
    const now = await view(change.id);
    expect(now).toMatchObject({ diffHash: change.diffHash, foundAfterReview: [] });
    expect(reason(await gate('members-e', '2.0.0'), 'approvals')).toMatchObject({ status: 'failed' });
  });

  it('other content against another base is stale, as before', async () => {
    delete s.deps.diffEngine;
    const change = await reviewedBreakingChange('members-f');
    // 1.0.0 released to production, then a 1.5.0 registered: 2.0.0 would now ship against 1.0.0 still; a production 1.5.0 moves the base.
    await register('members-f', '1.5.0', memberApi('1.5.0'));
    expect((await json('POST', '/v1/gate/check', { partner: 'acme', api: 'members-f', version: '1.5.0', environment: 'production', breakGlass: 'move the production base for the test' })).status).toBe(200);
    expect((await json('POST', '/v1/releases', { partner: 'acme', api: 'members-f', version: '1.5.0', environment: 'production' })).status).toBe(201);
    s.deps.diffEngine = newerEngine({ learns: 'breaking' });
    const now = await view(change.id);
    expect(now).toMatchObject({ stale: true, diffHash: change.diffHash, foundAfterReview: [] });
    expect(reason(await gate('members-f', '2.0.0'), 'change-request')).toMatchObject({ status: 'pending', message: expect.stringContaining('stale') });
  });

  it('the console and `accord change show` list what was found after review', async () => {
    delete s.deps.diffEngine;
    const change = await reviewedBreakingChange('members-g');
    s.deps.diffEngine = newerEngine({ learns: 'breaking' });
    const user = await signIn(s, await s.token('approver'));
    const page = await (await user.get(`/console/changes/${change.id}`)).text();
    expect(page).toContain('Found after review');
    expect(page).toContain(LEARNED);
    const amended = (await view(change.id)).diffHash as string;
    expect(page).toContain(`name="diffHash" value="${amended}"`);
    // The form posts the hash it showed: accepted now, refused once the diff is amended again.
    expect((await user.post(`/console/changes/${change.id}/reviews`, { decision: 'approve', comment: '', diffHash: amended })).status).toBe(303);
    const stale = await user.post(`/console/changes/${change.id}/reviews`, { decision: 'approve', comment: '', diffHash: change.diffHash });
    expect(stale.status).toBe(409);

    const cli = await runCli(['change', 'show', change.id], { ACCORD_URL: await s.listen(), ACCORD_TOKEN: ADMIN_TOKEN });
    expect(cli.code, cli.stderr).toBe(0);
    expect(cli.stdout).toContain('FOUND AFTER REVIEW: 1 breaking finding added to the diff after it was reviewed');
    expect(cli.stdout).toContain(`[${LEARNED}] (found `);
    expect(cli.stdout).toMatch(/\[found-after-review\] 1 breaking finding was found after review/);
  });
});

describe('a change request stored by release 0.1.0 (format-1 diff hash)', () => {
  const FIXTURE = path.join(REPO_ROOT, 'test/fixtures/release-0.1.0');
  const expected = JSON.parse(fs.readFileSync(path.join(FIXTURE, 'expected.json'), 'utf8'));
  const work = fs.mkdtempSync(path.join(os.tmpdir(), 'accord-diff-upgrade-'));
  let s: TestService;
  const get = async (url: string) => (await s.call('GET', url, { token: expected.adminToken })).json();

  beforeAll(async () => {
    const backup = path.join(work, 'backup');
    fs.cpSync(FIXTURE, backup, { recursive: true });
    fs.chmodSync(path.join(backup, 'audit.key'), 0o600);
    await restoreBackup({ dataDir: path.join(work, 'data'), auditKey: undefined }, backup);
    s = await startTestService({ dir: path.join(work, 'data') });
  });
  afterAll(async () => {
    await s.close();
    fs.rmSync(work, { recursive: true, force: true });
  });

  it('keeps its approval under today’s engine, and finds a new breaking finding after review', async () => {
    const change = await get(`/v1/changes/${expected.changeId}`);
    const base = await get('/v1/contracts/northwind-health/p2p-exchange/versions/2.0.0');
    const content = await get('/v1/contracts/northwind-health/p2p-exchange/versions/2.1.0');
    // Its hash is format 1, recomputed from the stored snapshot; today's would be format 2.
    expect(change.diffHash).toBe(formatOneHash(base.sha256, content.sha256, change.diff.changes));
    expect(change.diffHash).not.toBe(diffHash(base.sha256, content.sha256, change.diff.changes));
    expect(change).toMatchObject({ stale: false, foundAfterReview: [], reviews: [expect.objectContaining({ counts: true })] });
    expect(change.gatePreview.reasons.find((r: { rule: string }) => r.rule === 'approvals')).toMatchObject({ status: 'met' });
    const [decisionId] = await s.deps.db.$sql.column('SELECT id FROM gate_decisions') as string[];
    const stored = await get(`/v1/gate/decisions/${decisionId}`);
    expect(stored.rederivation).toMatchObject({ inputsHashMatches: true, matches: true });

    s.deps.diffEngine = newerEngine({ learns: 'warning' });
    expect(await get(`/v1/changes/${expected.changeId}`)).toMatchObject({ diffHash: expected.change.diffHash, reviews: [expect.objectContaining({ counts: true })] });

    s.deps.diffEngine = newerEngine({ learns: 'breaking' });
    const amended = await get(`/v1/changes/${expected.changeId}`);
    expect(amended.foundAfterReview).toEqual([expect.objectContaining({ rule: LEARNED, reviewedHash: expected.change.diffHash })]);
    expect(amended.diffHash).toBe(diffHash(base.sha256, content.sha256, amended.diff.changes, newerEngine({}).canonicalRule));
    expect(amended.reviews).toEqual([expect.objectContaining({ counts: false })]);
    expect((await get(`/v1/gate/decisions/${decisionId}`)).rederivation).toMatchObject({ inputsHashMatches: true, matches: true });
  });
});
