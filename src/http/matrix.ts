import { Hono } from 'hono';
import { requireRole } from '../auth/principal.ts';
import type { Deps } from '../context.ts';
import { formatOfContentType } from '../contracts/document.ts';
import { AccordError } from '../errors.ts';
import { diffMatrixVersions } from '../diff/service.ts';
import { toCsv, toMarkdown, toRow } from '../matrix/render.ts';
import { respondDiff } from './diff.ts';
import { checkMatrixDocument, currentFlows, getMatrixDocument, listMatrixVersions, putMatrixDocument } from '../matrix/store.ts';
import { absoluteUrl } from '../lib/public-url.ts';
import { principalOf, type AppEnv } from './types.ts';

function versionParam(raw: string | undefined, name = 'version'): number | undefined {
  if (raw === undefined) return undefined;
  if (!/^[1-9]\d{0,8}$/.test(raw)) throw new AccordError('bad_request', `?${name} must be a positive integer`, { errors: [{ location: name, message: 'positive integer' }] });
  return Number(raw);
}

/** Routes under /v1/control-matrix. */
export function matrixRouter(deps: Deps): Hono<AppEnv> {
  const app = new Hono<AppEnv>();

  app.get('/', async (c) => {
    const format = c.req.query('format') ?? 'json';
    const rows = (await currentFlows(deps)).map((f) => toRow(f.entry, f.version));
    if (format === 'json') return c.json(rows);
    if (format === 'csv') return c.body(toCsv(rows), 200, { 'Content-Type': 'text/csv; charset=utf-8', 'Content-Disposition': 'inline; filename="control-matrix.csv"' });
    if (format === 'md') return c.body(toMarkdown(rows), 200, { 'Content-Type': 'text/markdown; charset=utf-8' });
    throw new AccordError('bad_request', `?format must be json, csv or md, not "${format}"`, { errors: [{ location: 'format', message: 'json | csv | md' }] });
  });

  app.post('/validate', async (c) => {
    requireRole(principalOf(c), ['admin', 'author', 'approver', 'ci'], 'validate control-matrix entries');
    const flow = c.req.query('flow');
    const { findings } = await checkMatrixDocument(deps, 'flow', await c.req.text(), formatOfContentType(c.req.header('content-type')), flow);
    if (findings.length > 0) {
      throw new AccordError('invalid_document', `The entry fails ${findings.length} check${findings.length === 1 ? '' : 's'}`, {
        errors: findings.map((f) => ({ location: f.location, message: f.message, rule: f.rule })),
        extra: { valid: false },
      });
    }
    return c.json({ valid: true, errors: [] });
  });

  app.put('/:flow', async (c) => {
    const result = await putMatrixDocument(deps, principalOf(c), {
      kind: 'flow',
      name: c.req.param('flow'),
      body: await c.req.text(),
      format: formatOfContentType(c.req.header('content-type')),
    });
    c.header('Location', absoluteUrl(deps.config, `/v1/control-matrix/${result.version.name}?version=${result.version.version}`));
    return c.json(result.version, result.created ? 201 : 200);
  });

  app.get('/:flow', async (c) => c.json(await getMatrixDocument(deps, 'flow', c.req.param('flow'), versionParam(c.req.query('version')))));

  app.get('/:flow/versions', (c) => c.json(listMatrixVersions(deps, c.req.param('flow'))));

  app.get('/:flow/diff', async (c) => {
    const flow = c.req.param('flow');
    const from = versionParam(c.req.query('from'), 'from');
    const to = versionParam(c.req.query('to'), 'to');
    if (from === undefined || to === undefined) throw new AccordError('bad_request', 'Pass both ?from= and ?to= versions', { errors: [{ location: from === undefined ? 'from' : 'to', message: 'required' }] });
    return respondDiff(c, await diffMatrixVersions(deps, flow, from, to), `control matrix ${flow} v${from} → v${to}`);
  });

  return app;
}

/** Routes under /v1/policy: the governance policy (control-matrix/policy.yaml). */
export function policyRouter(deps: Deps): Hono<AppEnv> {
  const app = new Hono<AppEnv>();
  app.get('/', async (c) => c.json(await getMatrixDocument(deps, 'policy', 'policy', versionParam(c.req.query('version')))));
  app.put('/', async (c) => {
    const result = await putMatrixDocument(deps, principalOf(c), {
      kind: 'policy',
      name: 'policy',
      body: await c.req.text(),
      format: formatOfContentType(c.req.header('content-type')),
    });
    return c.json(result.version, result.created ? 201 : 200);
  });
  return app;
}
