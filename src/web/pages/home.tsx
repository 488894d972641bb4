import type { Deps } from '../../context.ts';
import { Layout, type PageContext } from '../layout.tsx';

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
        <section class="panel" aria-labelledby="home-changes">
          <h2 id="home-changes">{partner ? 'Changes awaiting you' : 'Change requests'}</h2>
          <p>{partner ? 'Breaking changes your organisation must acknowledge.' : 'What awaits review, acknowledgements, what is ready and what was released.'}</p>
          <a href={partner ? '/console/changes?awaiting=me' : '/console/changes'}>{partner ? 'Open your inbox' : 'Open the queue'}</a>
        </section>
        <section class="panel" aria-labelledby="home-notices">
          <h2 id="home-notices">Notices and deprecations</h2>
          <p>Sunset dates per partner and API, and the notices feed.</p>
          <a href="/console/notices">See the timeline</a>
        </section>
      </div>
    </Layout>
  );
}
