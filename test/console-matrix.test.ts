import fs from 'node:fs';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createToken } from '../src/auth/tokens.ts';
import { signIn, type ConsoleUser } from './console-helpers.ts';
import { ADMIN_TOKEN, REPO_ROOT, startTestService, type TestService } from './harness.ts';
import { putApprovedMatrixEntry } from './matrix-helpers.ts';

const read = (file: string) => fs.readFileSync(path.join(REPO_ROOT, 'control-matrix', file), 'utf8');
const FLOWS = ['acknowledgement', 'consent-capture', 'consent-verification', 'finalisation', 'finalisation-by-id', 'member-match', 'payer-data-export'];

/** The rows of the page's first table body. */
const bodyRows = (html: string) => html.slice(html.indexOf('<tbody>'), html.indexOf('</tbody>')).split('<tr>').slice(1);

describe('console: control matrix', () => {
  let s: TestService;
  let admin: ConsoleUser;
  beforeAll(async () => {
    s = await startTestService({ seed: true });
    admin = await signIn(s, ADMIN_TOKEN);
    // A second version of member-match through the API: a shorter dedupe window and one escalation contact fewer.
    const v2 = read('member-match.yaml').replace('dedupeWindow: P1D', 'dedupeWindow: PT12H').replace('contact: interoperability duty manager', 'contact: identity duty manager');
    expect((await putApprovedMatrixEntry(s, 'member-match', v2, { token: await s.token('author') })).version).toBe(2);
  });
  afterAll(async () => await s.cleanup());

  it('the table has one row per flow with idempotency, retries, compensations, SLA targets, owner and escalation', async () => {
    const res = await admin.get('/console/matrix');
    expect(res.status).toBe(200);
    const html = await res.text();
    for (const column of ['Flow', 'Idempotency', 'Retries per step', 'Compensation per step', 'SLA targets', 'Owner', 'Escalation']) expect(html).toContain(`<th scope="col">${column}</th>`);
    const rows = bodyRows(html);
    expect(rows.map((r) => /<code>([a-z-]+)<\/code>/.exec(r)![1])).toEqual(FLOWS);
    const memberMatch = rows.find((r) => r.includes('<code>member-match</code>'))!;
    expect(memberMatch).toContain('<a href="/console/matrix/member-match">Member match ($member-match)</a>');
    expect(memberMatch).toContain('v2');
    expect(memberMatch).toContain('<li>key: Idempotency-Key header</li>');
    expect(memberMatch).toContain('<li>window 12 h</li>');
    expect(memberMatch).toContain('<li>match-member: 3 attempts, backoff 1 s × 2 up to 8 s</li>');
    expect(memberMatch).toContain('<li>match-member → none</li>');
    expect(memberMatch).toContain('<li>acknowledge p95 ≤');
    expect(memberMatch).toContain('member-identity &lt;member-identity@accord-network.example&gt;');
    expect(memberMatch).toContain('<li>after 1 h: identity duty manager (phone)</li>');
    const consent = rows.find((r) => r.includes('<code>consent-capture</code>'))!;
    expect(consent).toContain('<li>capture-consent → revokeConsent</li>');
  });

  it('one page per flow: steps with compensation, failure modes, observability, SLA, owner, escalation and its versions', async () => {
    const res = await admin.get('/console/matrix/acknowledgement');
    expect(res.status).toBe(200);
    const html = await res.text();
    expect(html).toContain('<h1>Flow: Acknowledgement of receipt</h1>');
    expect(html).toContain('<th scope="row">acknowledge</th>');
    expect(html).toContain('<code>acknowledgeReceipt</code>');
    expect(html).toContain('<td>3 attempts, backoff 1 s × 2 up to 8 s, jitter 20%</td><td>reversal-event</td>');
    expect(html).toContain('<th scope="row">delayed-event-propagation</th>');
    expect(html).toContain('<td>reconcile</td>');
    expect(html).toContain('Replays return the original response inside the dedupe window.');
    expect(html).toContain('correlation-id, traceparent, idempotency-key, partner, flow, step');
    expect(html).toContain('<th scope="row">timeToAcknowledge</th><td>p95</td><td>5 s</td>');
    expect(html).toContain('data-exchange &lt;data-exchange@accord-network.example&gt;');
    expect(html).toContain('<th scope="row">4 h</th><td>payer network governance board</td><td>email</td>');
    expect(html).toContain('1 <span class="muted">(shown)</span>');
    expect(html).toContain('first version');
    expect(html).not.toContain('Compare');
  });

  it('lists every version and shows the matrix diff between consecutive versions or any two (?from=&to=)', async () => {
    const page = await (await admin.get('/console/matrix/member-match')).text();
    expect(page).toContain('version 2 (the latest)');
    expect(page).toContain('<a href="/console/matrix/member-match?from=1&amp;to=2">Changes from version 1</a>');
    expect(page).toContain('<a href="/console/matrix/member-match?version=1">Version 1</a>');
    expect(page).toContain('<label for="compare-from">From</label>');
    expect(page).not.toContain('Changes from version 1 to version 2');

    const diff = await admin.get('/console/matrix/member-match?from=1&to=2');
    expect(diff.status).toBe(200);
    const html = await diff.text();
    expect(html).toContain('Changes from version 1 to version 2');
    expect(html).toContain('2 breaking, 0 to review, 0 informational.');
    expect(html).toContain('dedupe window shortened from P1D to PT12H: late retries may now run twice');
    expect(html).toContain('escalation to interoperability duty manager removed');
    expect(html.match(/<span class="badge breaking">breaking<\/span>/g)).toHaveLength(2);
    // The other way round, the longer window is informational.
    const back = await (await admin.get('/console/matrix/member-match?from=2&to=1')).text();
    expect(back).toContain('dedupe window lengthened from PT12H to P1D');

    const older = await (await admin.get('/console/matrix/member-match?version=1')).text();
    expect(older).toContain('version 1 (an older version; the latest is 2)');
    expect(older).toContain('<dd>1 d</dd>');
  });

  it('answers 404 for an unknown flow or version and 400 for malformed query values, as error pages', async () => {
    for (const [url, status, text] of [
      ['/console/matrix/no-such-flow', 404, 'No control-matrix entry "no-such-flow"'],
      ['/console/matrix/member-match?version=7', 404, 'version 7'],
      ['/console/matrix/member-match?from=1&to=9', 404, 'version 9'],
      ['/console/matrix/member-match?from=abc&to=2', 400, '?from must be a version number'],
      ['/console/matrix/member-match?from=1', 400, 'Pass both ?from= and ?to='],
      ['/console/matrix/member-match?version=0', 400, '?version must be a version number'],
    ] as const) {
      const res = await admin.get(url);
      expect(res.status, url).toBe(status);
      const html = await res.text();
      expect(html, url).toContain('<!DOCTYPE html>');
      expect(html, url).toContain(text.replace(/"/g, '&quot;'));
    }
  });

  it('the flow page shows the approved version as the latest, each version’s status and the open proposals', async () => {
    const v3 = read('member-match.yaml').replace('dedupeWindow: P1D', 'dedupeWindow: PT6H');
    const put = await s.call('PUT', '/v1/control-matrix/member-match', { body: v3, type: 'application/yaml', token: await s.token('author') });
    expect(await put.json()).toMatchObject({ version: 3, status: 'proposed', baseVersion: 2 });
    const table = await (await admin.get('/console/matrix')).text();
    expect(bodyRows(table).find((r) => r.includes('<code>member-match</code>'))).toContain('<li>window 12 h</li>');
    const page = await (await admin.get('/console/matrix/member-match')).text();
    expect(page).toContain('version 2 (the latest)');
    expect(page).toContain('<th scope="col">Status</th>');
    expect(page).toContain('<a href="/console/matrix/member-match?version=3">Version 3</a></th><td><span class="muted">proposed</span></td>');
    expect(page).toMatch(/Awaiting review \(they govern nothing until approved\): <a href="\/console\/matrix\/member-match\?from=2&amp;to=3">version 3<\/a> by author-/);
    const proposed = await (await admin.get('/console/matrix/member-match?version=3')).text();
    expect(proposed).toContain('version 3 (proposed; the approved version is 2)');
  });

  it('every role may read the matrix, as GET /v1/control-matrix allows; a token limited to scopes without matrix:read gets 403', async () => {
    const partnerToken = await s.token('partner', 'bluestem-mutual');
    expect((await s.call('GET', '/v1/control-matrix', { token: partnerToken })).status).toBe(200);
    const partner = await signIn(s, partnerToken);
    const table = await partner.get('/console/matrix');
    expect(table.status).toBe(200);
    expect(await table.text()).toContain('<a href="/console/matrix" aria-current="page">Control matrix</a>');
    expect((await partner.get('/console/matrix/member-match?from=1&to=2')).status).toBe(200);

    const limited = (await createToken(s.deps, 'test', { role: 'approver', name: 'changes only', scopes: ['changes:read'] })).token;
    expect((await s.call('GET', '/v1/control-matrix', { token: limited })).status).toBe(403);
    const user = await signIn(s, limited);
    for (const url of ['/console/matrix', '/console/matrix/member-match']) {
      const res = await user.get(url);
      expect(res.status, url).toBe(403);
      expect(await res.text()).toContain('matrix:read');
    }
  });
});
