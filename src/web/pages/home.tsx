import { hasScope } from '../../auth/principal.ts';
import { inboxCount, QUEUE_TABS, queueCounts } from '../../changes/queue.ts';
import type { Deps } from '../../deps.ts';
import { Layout, type PageContext } from '../layout.tsx';
import { queueTabText } from './changes/queue-page.tsx';

async function ChangesPanel(props: { deps: Deps; ctx: PageContext }) {
  const { principal } = props.ctx;
  // Counts only for a token that may read change requests (as GET /v1/changes needs changes:read).
  const reads = hasScope(principal, 'changes:read');
  if (principal.role === 'partner') {
    const waiting = reads ? await inboxCount(props.deps, principal.partner!) : 0;
    return (
      <section class="panel" aria-labelledby="home-changes">
        <h2 id="home-changes">Changes awaiting you</h2>
        <p>Breaking changes to APIs your organisation consumes, which it must acknowledge before they are released.</p>
        {reads ? <a href="/console/changes?tab=inbox">{waiting === 0 ? 'Nothing awaits your acknowledgement' : waiting === 1 ? '1 change request awaits your acknowledgement' : `${waiting} change requests await your acknowledgement`}</a> : <p class="muted">This token may not read change requests.</p>}
      </section>
    );
  }
  const counts = reads ? await queueCounts(props.deps, principal) : undefined;
  return (
    <section class="panel" aria-labelledby="home-changes">
      <h2 id="home-changes">Change requests</h2>
      {counts ? (
        <ul>
          {QUEUE_TABS.map((tab) => (
            <li>
              <a href={`/console/changes?tab=${tab}`}>{`${queueTabText(principal, tab).label}: ${counts[tab]}`}</a>
            </li>
          ))}
        </ul>
      ) : (
        <p class="muted">This token may not read change requests.</p>
      )}
    </section>
  );
}

/** The landing page after sign-in: where to go for what this role does. */
export function HomePage(props: { deps: Deps; ctx: PageContext }) {
  const { ctx } = props;
  const partner = ctx.principal.role === 'partner';
  return (
    <Layout title={partner ? `Welcome, ${ctx.principal.partner}` : 'Welcome'} ctx={ctx}>
      <div class="grid">
        <section class="panel" aria-labelledby="home-contracts">
          <h2 id="home-contracts">Contracts</h2>
          <p>Partners, APIs and versions with their state, releases, deprecations and the API reference.</p>
          <a href="/console/contracts">Browse contracts</a>
        </section>
        <ChangesPanel deps={props.deps} ctx={ctx} />
        <section class="panel" aria-labelledby="home-notices">
          <h2 id="home-notices">Notices and deprecations</h2>
          <p>Sunset dates per partner and API, and the notices feed.</p>
          <a href="/console/notices">See the timeline</a>
        </section>
      </div>
    </Layout>
  );
}
