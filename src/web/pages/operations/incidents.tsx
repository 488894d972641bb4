import type { Hono } from 'hono';
import type { Deps } from '../../../deps.ts';
import type { Runtime } from '../../../runtime/index.ts';
import { Layout } from '../../layout.tsx';
import { pageContext, sendPage, type WebEnv } from '../../types.ts';
import { OperationsNav } from './nav.tsx';

/** Incidents (placeholder until its part of issue 18 lands). */
export function registerIncidentPages(app: Hono<WebEnv>, deps: Deps, runtime: Runtime): void {
  void deps;
  void runtime;
  app.get('/operations/incidents', (c) => {
    const ctx = pageContext(c);
    return sendPage(
      c,
      <Layout title="Incidents" ctx={ctx}>
        <OperationsNav path={ctx.path} />
        <p class="muted">Not built yet.</p>
      </Layout>,
    );
  });
}
