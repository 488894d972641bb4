import type { OpenAPIHono } from '@hono/zod-openapi';
import type { Deps } from '../deps.ts';
import { AccordError } from '../errors.ts';
import { addEvidence, addJunitEvidence, JunitEvidenceParams, listEvidence } from '../evidence/evidence.ts';
import { parseInput } from '../lib/validate.ts';
import { operationsRouter, serve } from './operation.ts';
import { pageFrom, sendPage } from './pages.ts';
import * as op from './operations/evidence.ts';
import { principalOf, type AppEnv } from './env.ts';

const JUNIT_TYPES = ['application/xml', 'text/xml', 'application/junit+xml'];

/** /v1/evidence: release evidence, recorded as JSON or from a JUnit report. */
export function evidenceRouter(deps: Deps): OpenAPIHono<AppEnv> {
  const app = operationsRouter();
  serve(app, op.addEvidence, async (c, { body }) => c.json(await addEvidence(deps, principalOf(c), body), 201));
  serve(app, op.addJunitEvidence, async (c, { query }) => {
    const type = (c.req.header('content-type') ?? '').split(';')[0]!.trim().toLowerCase();
    if (!JUNIT_TYPES.includes(type)) throw new AccordError('unsupported_media_type', 'Send the JUnit report as application/xml; the other fields as query parameters');
    const params = parseInput(JunitEvidenceParams, query, { detail: 'Invalid evidence parameters' });
    return c.json(await addJunitEvidence(deps, principalOf(c), await c.req.text(), params), 201);
  });
  serve(app, op.listEvidence, async (c, { query }) => sendPage(c, deps.config, 'evidence', await listEvidence(deps, query.partner, query.api, query.version, pageFrom('evidence', ['string', 'string'], query))));
  return app;
}
