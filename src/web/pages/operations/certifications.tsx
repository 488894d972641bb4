import type { Hono } from 'hono';
import type { Deps } from '../../../deps.ts';
import { authorize } from '../../../http/api.ts';
import { getCertification as getCertificationOp } from '../../../http/operations/certifications.ts';
import { casesOf, getRun, runView } from '../../../certification/runs.ts';
import type { CertificationStanding } from '../../../certification/runs.ts';
import { TableWrap } from '../../components/table-wrap.tsx';
import { Time } from '../../components/time.tsx';
import { Layout, type PageContext } from '../../layout.tsx';
import { pageContext, sendPage, type WebEnv } from '../../types.ts';
import { OperationsNav } from './nav.tsx';

const runPath = (id: string) => `/console/operations/certifications/${encodeURIComponent(id)}`;

/** The partner scorecard's certification section: the newest finished run of its endpoint per API and environment. */
export function CertificationSection(props: { standing: CertificationStanding }) {
  const { standing } = props;
  return (
    <>
      <h2 id="certification">Certification</h2>
      <p class="muted">
        Accord’s own certification of the partner’s endpoints (POST /v1/certifications, and periodic runs): {standing.passed} of {standing.runs} runs passed in the window. Drift: failing after a
        release of that version to that environment.
      </p>
      {standing.latest.length === 0 ? (
        <p>No certification of its endpoints has finished yet.</p>
      ) : (
        <TableWrap label="Latest certification per API and environment">
          <table>
            <thead>
              <tr>
                <th scope="col">API</th>
                <th scope="col">Environment</th>
                <th scope="col">Version</th>
                <th scope="col">Verdict</th>
                <th scope="col">Failed cases</th>
                <th scope="col">Finished</th>
              </tr>
            </thead>
            <tbody>
              {standing.latest.map((l) => (
                <tr>
                  <th scope="row">{l.api}</th>
                  <td>{l.environment}</td>
                  <td>{l.version}</td>
                  <td>
                    <a href={runPath(l.runId)}>{l.status}</a>
                    {l.drift ? <strong> — drift</strong> : null}
                  </td>
                  <td>{l.failedCases}</td>
                  <td>
                    <Time at={l.finishedAt} />
                  </td>
                </tr>
              ))}
            </tbody>
          </table>
        </TableWrap>
      )}
    </>
  );
}

function RunPage(props: { ctx: PageContext; run: ReturnType<typeof runView>; cases: ReturnType<typeof casesOf> }) {
  const { ctx, run } = props;
  return (
    <Layout title={`Certification ${run.id}`} ctx={ctx}>
      <OperationsNav ctx={ctx} />
      <p>
        {run.partner}/{run.api}@{run.version} against {run.environment} ({run.target}): <strong>{run.status}</strong>, {run.progress.done} of {run.progress.total} cases run, {run.progress.failed}{' '}
        failed. {run.error ? <span>{run.error}</span> : null}
      </p>
      <p class="muted">
        Started <Time at={run.createdAt} /> by {run.createdBy}; the requests and answers of each case: GET /v1/certifications/{run.id} (JUnit: /junit). Evidence:{' '}
        {run.evidence.length === 0 ? 'none' : run.evidence.map((e) => `${e.kind} ${e.result}`).join(', ')}.
      </p>
      <TableWrap label="Cases">
        <table>
          <thead>
            <tr>
              <th scope="col">Case</th>
              <th scope="col">Verdict</th>
              <th scope="col">Findings</th>
            </tr>
          </thead>
          <tbody>
            {props.cases.map((c) => (
              <tr>
                <th scope="row">
                  <code>{c.id}</code>
                  <br />
                  <span class="muted">{c.name}</span>
                </th>
                <td>{c.verdict}</td>
                <td>{c.findings.length === 0 ? '—' : <ul>{c.findings.map((f) => <li>{f}</li>)}</ul>}</td>
              </tr>
            ))}
          </tbody>
        </table>
      </TableWrap>
    </Layout>
  );
}

/** /console/operations/certifications/{id}: a certification run's cases and verdicts (a partner sees its own). */
export function registerCertificationPages(app: Hono<WebEnv>, deps: Deps): void {
  app.get('/operations/certifications/:id', async (c) => {
    const ctx = pageContext(c);
    authorize(ctx.principal, getCertificationOp);
    const row = await getRun(deps, ctx.principal, c.req.param('id'));
    return sendPage(c, <RunPage ctx={ctx} run={runView(row, deps.clock(), { cases: false })} cases={casesOf(row)} />);
  });
}
