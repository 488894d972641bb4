import fs from 'node:fs';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createToken } from '../src/auth/tokens.ts';
import { dispatchDueDeliveries } from '../src/notices/webhook-dispatcher.ts';
import { parseYaml } from '../src/lib/yaml.ts';
import { openChange, registerVersion } from './change-fixtures.ts';
import { REPO_ROOT, startTestService, type TestService } from './harness.ts';

const example = () =>
  structuredClone((parseYaml(fs.readFileSync(path.join(REPO_ROOT, 'contracts/bluestem-mutual/p2p-exchange/1.1.0/openapi.yaml'), 'utf8'), { maxAliases: 0 }) as any).paths['/Patient/$member-match'].post.requestBody.content['application/fhir+json'].example);

/** A webhook receiver on 127.0.0.1 standing in for a subscriber: answers 204 and keeps what it got. */
async function receiver() {
  const hits: Array<{ path: string; body: string }> = [];
  const server = http.createServer((req, res) => {
    let body = '';
    req.on('data', (d) => (body += d));
    req.on('end', () => {
      hits.push({ path: req.url!, body });
      res.writeHead(204).end();
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return { hits, url: `http://127.0.0.1:${(server.address() as AddressInfo).port}/incidents`, close: () => server.close() };
}

const json = (s: TestService, method: string, url: string, body: unknown, token?: string) => s.call(method, url, { body: JSON.stringify(body), type: 'application/json', ...(token ? { token } : {}) });

const postmortem = (actionItems: unknown[]) => ({
  rootCause: 'The partner’s consent service rejected every call after a certificate rotation.',
  detection: { how: 'The SLA monitor (errorRate above 0.2 for 5 minutes).' },
  compensationEffectiveness: 'Every started export was compensated; no member data was left half-exported.',
  partnerCommunication: 'Bluestem was told at 12:15 through the escalation contact.',
  governanceGaps: 'Certificate rotations are not change-controlled.',
  actionItems,
});

describe('incidents: an SLA breach opens one; operators open, write postmortems and close them', () => {
  let s: TestService;
  let now = Date.parse('2026-11-27T12:00:00Z');
  let hook: Awaited<ReturnType<typeof receiver>>;
  let operator: string;
  let incidentId: string;

  beforeAll(async () => {
    s = await startTestService({ seed: true, clock: () => new Date(now), env: { ACCORD_SAGA_TIME_SCALE: '0.01', ACCORD_OUTBOUND_ALLOW_PRIVATE: 'true' } });
    hook = await receiver();
    operator = await s.token('operator');
  });
  afterAll(async () => {
    hook?.close();
    await s?.cleanup();
  });

  it('a breach opens INC-1 in the intervention’s transaction; incident.opened reaches a subscriber', async () => {
    const created = await json(s, 'POST', '/v1/webhooks', { url: hook.url, secret: 'a-very-long-webhook-secret-123', events: ['incident.opened', 'incident.closed'] });
    expect(created.status, await created.clone().text()).toBe(201);
    // payer-data-export at bluestem-mutual fails every call: rule 1 (errorRate > 0.2 over 5 min, for 5 min).
    s.runtime.sla.record('payer-data-export', 'bluestem-mutual', 'errorRate', 1);
    now += 5 * 60_000 + 1000;
    s.runtime.sla.record('payer-data-export', 'bluestem-mutual', 'errorRate', 1);
    await s.runtime.sla.evaluate();
    const breachedAt = new Date(now).toISOString();
    expect(await (await s.call('GET', '/v1/incidents')).json()).toEqual([]);
    now += 5 * 60_000;
    s.runtime.sla.record('payer-data-export', 'bluestem-mutual', 'errorRate', 1);
    await s.runtime.sla.evaluate();

    const list = await (await s.call('GET', '/v1/incidents?status=open&partner=bluestem-mutual', { token: operator })).json();
    expect(list).toHaveLength(1);
    const interventions = (await s.deps.db.$sql.column("SELECT id FROM sla_interventions WHERE flow = 'payer-data-export' AND partner = 'bluestem-mutual'")) as string[];
    expect(interventions).toHaveLength(1);
    expect(list[0]).toMatchObject({ ref: 'INC-1', number: 1, status: 'open', severity: 'sev2', source: 'sla', flow: 'payer-data-export', partner: 'bluestem-mutual', api: 'p2p-exchange', openedBy: 'accord-sla-monitor', startedAt: breachedAt, openedAt: new Date(now).toISOString(), interventions });
    incidentId = list[0].id;
    expect(await s.deps.db.$sql.all("SELECT action, target FROM audit_log WHERE action LIKE 'incident.%' ORDER BY seq")).toEqual([{ action: 'incident.opened', target: 'incident INC-1' }]);

    expect(await dispatchDueDeliveries(s.deps)).toBeGreaterThanOrEqual(1);
    const opened = hook.hits.map((h) => JSON.parse(h.body)).filter((e) => e.type === 'incident.opened');
    expect(opened).toHaveLength(1);
    expect(opened[0].data).toMatchObject({ incidentId, ref: 'INC-1', flow: 'payer-data-export', partner: 'bluestem-mutual', source: 'sla' });
  });

  it('the timeline shows the breach, the compensations of a transaction of that partner and flow, and a second rule’s intervention that joined the incident', async () => {
    // Retries are paused by the intervention: a 503 compensates at once.
    expect((await json(s, 'POST', '/v1/faults', { partner: 'bluestem-mutual', step: 'capture-consent', kind: 'error-status', status: 503, remaining: 1 })).status).toBe(201);
    const started = await s.call('POST', '/v1/transactions', { body: JSON.stringify({ flow: 'payer-data-export', partner: 'bluestem-mutual', input: { memberMatch: example() } }), type: 'application/json', headers: { 'Idempotency-Key': 'incident-timeline-1' } });
    expect(started.status).toBe(202);
    const tx = (await started.json()).id;
    await s.runtime.engine.idle();
    expect((await (await s.call('GET', `/v1/transactions/${tx}`)).json()).state).toBe('compensated');

    // Slow acknowledgements too: rule 0 (p95 > 30 s, for 2 min) joins the open incident of the flow and partner.
    s.runtime.sla.record('payer-data-export', 'bluestem-mutual', 'timeToAcknowledge', 60);
    await s.runtime.sla.evaluate();
    now += 2 * 60_000;
    s.runtime.sla.record('payer-data-export', 'bluestem-mutual', 'timeToAcknowledge', 60);
    await s.runtime.sla.evaluate();
    expect(await s.deps.db.$sql.value('SELECT count(*) FROM incidents')).toBe(1);
    expect(await s.deps.db.$sql.value('SELECT count(*) FROM incident_interventions WHERE incident_id = ?', [incidentId])).toBe(2);
    expect(await s.deps.db.$sql.column("SELECT action FROM audit_log WHERE action LIKE 'incident.%' ORDER BY seq")).toEqual(['incident.opened', 'incident.intervention-linked']);

    const detail = await (await s.call('GET', '/v1/incidents/INC-1', { token: await s.token('approver') })).json();
    expect(detail.id).toBe(incidentId);
    expect(detail.interventions).toHaveLength(2);
    const kinds = detail.timeline.map((e: { kind: string }) => e.kind);
    expect(kinds.slice(0, 3)).toEqual(['sla.breach', 'incident.opened', 'sla.intervention-applied']);
    expect(kinds.at(-1)).toBe('sla.intervention-applied');
    expect(detail.timeline[2].summary).toContain('errorRate');
    expect(detail.timeline.at(-1).summary).toContain('timeToAcknowledge');
    const compensation = detail.timeline.find((e: any) => e.kind === 'transaction.compensation');
    expect(compensation).toMatchObject({ link: `/v1/transactions/${tx}` });
    for (const e of detail.timeline) expect(Object.keys(e).sort()).toEqual(['at', 'kind', 'link', 'summary']);
    expect(detail.timeline.map((e: any) => e.at)).toEqual([...detail.timeline.map((e: any) => e.at)].sort());
    expect(detail.postmortem).toBeNull();
  });

  it('an operator opens INC-2; startedAt in the future is refused; partners and tokens without incidents:write may not', async () => {
    const body = { title: 'Northwind answers slowly to bulk export', severity: 'sev3', partner: 'northwind-health', api: 'p2p-exchange', startedAt: new Date(now - 600_000).toISOString(), summary: 'Reported by the partner.' };
    const res = await json(s, 'POST', '/v1/incidents', body, operator);
    expect(res.status, await res.clone().text()).toBe(201);
    const opened = await res.json();
    expect(opened).toMatchObject({ ref: 'INC-2', number: 2, source: 'operator', severity: 'sev3', flow: null, partner: 'northwind-health', status: 'open', interventions: [] });
    expect(opened.openedBy).toMatch(/^operator/);

    const ahead = await json(s, 'POST', '/v1/incidents', { ...body, startedAt: new Date(now + 60_000).toISOString() }, operator);
    expect(ahead.status).toBe(422);
    expect((await ahead.json()).errors).toEqual([{ location: '/startedAt', message: expect.stringContaining('must not be after now') }]);
    const bad = await json(s, 'POST', '/v1/incidents', { title: '', severity: 'sev9' }, operator);
    expect(bad.status).toBe(422);
    expect((await bad.json()).errors.map((e: { location: string }) => e.location).sort()).toEqual(['/severity', '/title']);

    for (const token of [await s.token('approver'), await s.token('partner', 'northwind-health'), (await createToken(s.deps, 'test', { role: 'operator', name: 'reader', scopes: ['observability:read'] })).token]) {
      const refused = await json(s, 'POST', '/v1/incidents', body, token);
      expect(refused.status).toBe(403);
    }
    const limited = (await createToken(s.deps, 'test', { role: 'operator', name: 'reader only', scopes: ['observability:read'] })).token;
    expect((await json(s, 'POST', '/v1/incidents', body, limited)).headers.get('content-type')).toBe('application/problem+json');
    expect((await (await json(s, 'POST', '/v1/incidents', body, limited)).json()).missingScope).toBe('incidents:write');
    const writer = (await createToken(s.deps, 'test', { role: 'operator', name: 'writer', scopes: ['incidents:write'] })).token;
    expect((await json(s, 'POST', '/v1/incidents', { ...body, title: 'third' }, writer)).status).toBe(201);
    expect((await s.call('GET', '/v1/incidents', { token: await s.token('partner', 'northwind-health') })).status).toBe(403);

    // A gate decision for the partner's API in the window shows in its timeline, not in another partner's.
    const gate = await json(s, 'POST', '/v1/gate/check', { partner: 'northwind-health', api: 'p2p-exchange', version: '2.0.0', environment: 'production' });
    expect(gate.status).toBe(200);
    const decision = (await gate.json()).decisionId;
    const inc2 = await (await s.call('GET', '/v1/incidents/INC-2')).json();
    expect(inc2.timeline.filter((e: { kind: string }) => e.kind === 'gate.decision')).toEqual([expect.objectContaining({ link: `/v1/gate/decisions/${decision}`, summary: expect.stringContaining('northwind-health/p2p-exchange 2.0.0') })]);
    expect((await (await s.call('GET', '/v1/incidents/INC-1')).json()).timeline.some((e: { kind: string }) => e.kind === 'gate.decision')).toBe(false);

    const all = await (await s.call('GET', '/v1/incidents')).json();
    expect(all.map((i: { ref: string }) => i.ref)).toEqual(['INC-3', 'INC-2', 'INC-1']);
    expect((await (await s.call('GET', '/v1/incidents?flow=payer-data-export')).json()).map((i: { ref: string }) => i.ref)).toEqual(['INC-1']);
    expect((await s.call('GET', '/v1/incidents?status=resolved')).status).toBe(400);
    expect((await s.call('GET', '/v1/incidents/INC-99')).status).toBe(404);

    // Every write is audited (the /v1 middleware), refusals included.
    const rows = (await s.deps.db.$sql.all("SELECT action, outcome FROM audit_log WHERE action = 'POST /v1/incidents' ORDER BY seq")) as Array<{ action: string; outcome: string }>;
    expect(rows.filter((r) => r.outcome === 'ok')).toHaveLength(2);
    expect(rows.filter((r) => r.outcome === 'refused').length).toBeGreaterThanOrEqual(5);
  });

  it('a postmortem whose links name nothing is refused with each bad link, and nothing is written', async () => {
    const res = await json(s, 'PUT', `/v1/incidents/${incidentId}/postmortem`, postmortem([
      { title: 'Version the consent certificate', area: 'contracts', link: { kind: 'change-request', ref: 'chg_missing' } },
      { title: 'Alert on consent errors', area: 'monitoring', link: { kind: 'matrix-proposal', ref: 'payer-data-export/v99' } },
      { title: 'Replay test for consent', area: 'retry-logic', link: { kind: 'evidence-requirement', ref: 'astrology-test' } },
      { title: 'Onboarding checklist', area: 'partner-onboarding', link: { kind: 'matrix-proposal', ref: 'not a ref' } },
      { title: 'Fine', area: 'other', link: { kind: 'evidence-requirement', ref: 'runbook@production' } },
    ]), operator);
    expect(res.status).toBe(422);
    const problem = await res.json();
    expect(problem.errors.map((e: { location: string }) => e.location)).toEqual(['/actionItems/0/link/ref', '/actionItems/1/link/ref', '/actionItems/2/link/ref', '/actionItems/3/link/ref']);
    expect(problem.errors[0].message).toContain('no change request "chg_missing"');
    expect(problem.errors[1].message).toContain('no version 99 of control-matrix flow "payer-data-export"');
    expect(problem.errors[2].message).toContain('"astrology-test" is not an evidence kind');
    expect(await s.deps.db.$sql.value('SELECT count(*) FROM incident_postmortems')).toBe(0);
    expect(await s.deps.db.$sql.value('SELECT count(*) FROM incident_action_items')).toBe(0);
    const shape = await json(s, 'PUT', `/v1/incidents/${incidentId}/postmortem`, { ...postmortem([{ title: 'x', area: 'astrology', link: { kind: 'ticket', ref: 'x' } }]), detection: { timeToDetect: '5 minutes', how: 'x' } }, operator);
    expect(shape.status).toBe(422);
    expect((await shape.json()).errors.map((e: { location: string }) => e.location).sort()).toEqual(['/actionItems/0/area', '/actionItems/0/link/kind', '/detection/timeToDetect']);
  });

  it('close answers 409 listing the open action items; once they are done it closes, sends incident.closed, and the postmortem is final', async () => {
    expect((await s.call('POST', `/v1/incidents/${incidentId}/close`, { token: operator })).status).toBe(409); // no postmortem yet
    await registerVersion(s, 'bluestem-mutual', 'p2p-exchange', '1.2.0', '1.3.0', (doc) => (doc.info.description = 'Consent certificate documented.'));
    const change = await openChange(s, 'bluestem-mutual', 'p2p-exchange', '1.3.0', 'document the consent certificate');
    const written = await json(s, 'PUT', `/v1/incidents/INC-1/postmortem`, postmortem([
      { title: 'Document the consent certificate', area: 'contracts', link: { kind: 'change-request', ref: change.id }, owner: 'bluestem' },
      { title: 'Alert on consent errors sooner', area: 'monitoring', link: { kind: 'matrix-proposal', ref: 'payer-data-export/v1' } },
      { title: 'Failure-injection evidence for consent', area: 'retry-logic', link: { kind: 'evidence-requirement', ref: 'failure-injection' }, status: 'done' },
    ]), operator);
    expect(written.status, await written.clone().text()).toBe(200);
    const pm = await written.json();
    expect(pm.detection).toEqual({ timeToDetect: 'PT5M', how: 'The SLA monitor (errorRate above 0.2 for 5 minutes).' });
    expect(pm.actionItems.map((a: any) => [a.title, a.status, a.link.kind])).toEqual(expect.arrayContaining([['Document the consent certificate', 'open', 'change-request'], ['Failure-injection evidence for consent', 'done', 'evidence-requirement']]));

    const refused = await s.call('POST', `/v1/incidents/${incidentId}/close`, { token: operator });
    expect(refused.status).toBe(409);
    expect(refused.headers.get('content-type')).toBe('application/problem+json');
    const problem = await refused.json();
    expect(problem.detail).toContain('2 action items are open');
    expect(problem.openActionItems.map((a: { title: string }) => a.title).sort()).toEqual(['Alert on consent errors sooner', 'Document the consent certificate']);
    expect((await s.deps.db.$sql.value('SELECT status FROM incidents WHERE id = ?', [incidentId]))).toBe('open');

    // All done (items kept by id), then it closes.
    const done = pm.actionItems.map((a: any) => ({ id: a.id, title: a.title, area: a.area, link: a.link, ...(a.owner ? { owner: a.owner } : {}), status: 'done' }));
    const again = await json(s, 'PUT', `/v1/incidents/${incidentId}/postmortem`, { ...postmortem(done), detection: { timeToDetect: 'PT7M', how: 'SLA monitor' } }, operator);
    expect(again.status).toBe(200);
    const rewritten = await again.json();
    expect(rewritten.detection.timeToDetect).toBe('PT7M');
    expect(rewritten.actionItems.map((a: any) => a.id).sort()).toEqual(pm.actionItems.map((a: any) => a.id).sort());
    expect(rewritten.actionItems.find((a: any) => a.title.startsWith('Failure')).doneAt).toBe(pm.actionItems.find((a: any) => a.title.startsWith('Failure')).doneAt);
    expect((await json(s, 'PUT', `/v1/incidents/${incidentId}/postmortem`, postmortem([{ id: 'act_nope', title: 'x', area: 'other', link: { kind: 'evidence-requirement', ref: 'runbook' } }]), operator)).status).toBe(422);

    now += 60_000;
    const closed = await s.call('POST', `/v1/incidents/${incidentId}/close`, { token: operator });
    expect(closed.status, await closed.clone().text()).toBe(200);
    expect(await closed.json()).toMatchObject({ status: 'closed', closedAt: new Date(now).toISOString(), closedBy: expect.stringMatching(/^operator/) });
    expect((await s.call('POST', `/v1/incidents/${incidentId}/close`, { token: operator })).status).toBe(409);
    expect((await json(s, 'PUT', `/v1/incidents/${incidentId}/postmortem`, postmortem([]), operator)).status).toBe(409);
    expect((await (await s.call('GET', '/v1/incidents')).json()).map((i: { ref: string }) => i.ref)).toEqual(['INC-3', 'INC-2', 'INC-1']);
    expect((await (await s.call('GET', '/v1/incidents?status=closed')).json()).map((i: { ref: string }) => i.ref)).toEqual(['INC-1']);

    await dispatchDueDeliveries(s.deps);
    const closedEvents = hook.hits.map((h) => JSON.parse(h.body)).filter((e) => e.type === 'incident.closed');
    expect(closedEvents).toHaveLength(1);
    expect(closedEvents[0].data).toMatchObject({ incidentId, ref: 'INC-1', status: 'closed' });

    const audited = (await s.deps.db.$sql.all("SELECT action, outcome FROM audit_log WHERE action LIKE 'P% /v1/incidents/%' ORDER BY seq")) as Array<{ action: string; outcome: string }>;
    expect(audited.filter((r) => r.outcome === 'ok').map((r) => r.action)).toEqual(['PUT /v1/incidents/:id/postmortem', 'PUT /v1/incidents/:id/postmortem', 'POST /v1/incidents/:id/close']);
    expect(audited.filter((r) => r.outcome === 'refused').length).toBeGreaterThanOrEqual(5);
  });

  it('exports the incident as Markdown (?format=markdown or Accept: text/markdown): summary, timeline, postmortem, action items with links', async () => {
    const res = await s.call('GET', `/v1/incidents/${incidentId}?format=markdown`);
    expect(res.status).toBe(200);
    expect(res.headers.get('content-type')).toBe('text/markdown; charset=utf-8');
    const text = await res.text();
    expect(text).toMatch(/^# INC-1: SLA breach: payer-data-export at bluestem-mutual: errorRate/);
    for (const heading of ['## Timeline', '## Postmortem', '### Root cause', '### Detection', '### Compensation effectiveness', '### Partner communication', '### Governance gaps', '## Action items']) expect(text).toContain(`\n${heading}\n`);
    expect(text).toContain('Time to detect: PT7M');
    expect(text).toContain('**sla.intervention-applied**');
    expect(text).toContain('**incident.closed**');
    expect(text).toMatch(/- \[x\] Alert on consent errors sooner \(monitoring\) — matrix-proposal \[payer-data-export\/v1\]\(http[^)]+\/v1\/control-matrix\/payer-data-export\/proposals\/1\)/);
    expect(text).toMatch(/- \[x\] Document the consent certificate \(contracts, owner bluestem\) — change-request \[chg_[^\]]+\]\(http[^)]+\/v1\/changes\/chg_/);

    const accept = await s.call('GET', '/v1/incidents/INC-1', { headers: { Accept: 'text/markdown' } });
    expect(accept.headers.get('content-type')).toBe('text/markdown; charset=utf-8');
    expect(await accept.text()).toBe(text);
    const asJson = await s.call('GET', '/v1/incidents/INC-1?format=json', { headers: { Accept: 'text/markdown' } });
    expect(asJson.headers.get('content-type')).toMatch(/^application\/json/);
    expect((await s.call('GET', '/v1/incidents/INC-1?format=pdf')).status).toBe(400);
  });
});
