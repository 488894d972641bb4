import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createToken } from '../src/auth/tokens.ts';
import { openChange, registerVersion } from './change-fixtures.ts';
import { signIn, type ConsoleUser } from './console-helpers.ts';
import { startTestService, type TestService } from './harness.ts';

/**
 * A change page shows a consuming partner what GET /v1/changes/{id} tells it, and no more: not
 * another partner's unpublished versions (a newer base, a rollback target) nor who registered
 * the version. (Review findings: both were on the page.)
 */
describe('console: what a change page does not tell a consuming partner', () => {
  let s: TestService;
  let id: string;
  let bluestem: ConsoleUser;
  let bluestemToken: string;
  let admin: ConsoleUser;

  beforeAll(async () => {
    s = await startTestService({ seed: true });
    const registrant = (await createToken(s.deps, 'test', { role: 'author', name: 'alice-registrant' })).token;
    const opener = (await createToken(s.deps, 'test', { role: 'author', name: 'olga-opener' })).token;
    await registerVersion(s, 'northwind-health', 'p2p-exchange', '2.1.0', '3.0.0', (d) => {
      delete d.paths['/Consent/{consentId}'];
    }, registrant);
    id = (await openChange(s, 'northwind-health', 'p2p-exchange', '3.0.0', 'Reading one consent moves to the consent search', opener)).id;
    // a draft between the base and the change, unpublished: partners may not know of it
    await registerVersion(s, 'northwind-health', 'p2p-exchange', '2.1.0', '2.5.0', (d) => {
      d.info.description = 'an unpublished draft';
    }, registrant);
    bluestemToken = await s.token('partner', 'bluestem-mutual');
    bluestem = await signIn(s, bluestemToken);
    admin = await signIn(s, await s.token('admin'));
  }, 60_000);
  afterAll(async () => await s.cleanup());

  it('names neither the unpublished draft nor the registrant to the partner; staff see both', async () => {
    expect((await s.call('GET', '/v1/contracts/northwind-health/p2p-exchange/versions/2.5.0', { token: bluestemToken })).status).toBe(404);
    const api = await (await s.call('GET', `/v1/changes/${id}`, { token: bluestemToken })).text();
    expect(api).not.toContain('2.5.0');
    expect(api).not.toContain('alice-registrant');

    const page = await (await bluestem.get(`/console/changes/${id}`)).text();
    expect(page).toContain('Change request northwind-health/p2p-exchange@3.0.0');
    expect(page).not.toContain('2.5.0');
    expect(page).not.toContain('alice-registrant');
    expect(page).toContain('an unpublished version');

    const staff = await (await admin.get(`/console/changes/${id}`)).text();
    expect(staff).toContain('northwind-health/p2p-exchange@2.5.0');
    expect(staff).toContain('version registered by alice-registrant');
  });

  it('refuses a form field sent as a file (it was stored as an empty comment)', async () => {
    const body = new FormData();
    body.set('_csrf', bluestem.csrf);
    body.set('comment', new Blob(['we read it']), 'comment.txt');
    const res = await s.app.request(`/console/changes/${id}/acknowledgements`, { method: 'POST', headers: { Cookie: bluestem.cookie }, body });
    expect(res.status).toBe(400);
    expect(await res.text()).toContain('Form fields must be text: comment');
    expect((await s.deps.db.$sql.value('SELECT count(*) FROM change_acks'))).toBe(0);
  });
});
