import type { OpenAPIHono } from '@hono/zod-openapi';
import type { Deps } from '../deps.ts';
import { formatOfContentType } from '../contracts/document.ts';
import { diffMatrixVersions } from '../diff/service.ts';
import { AccordError } from '../errors.ts';
import { absoluteUrl } from '../lib/public-url.ts';
import { toCsv, toMarkdown, toRow } from '../matrix/render.ts';
import { checkMatrixDocument, currentFlows, getMatrixDocument, listMatrixVersions, putMatrixDocument } from '../matrix/store.ts';
import { respondDiff } from './diff.ts';
import { operationsRouter, serve } from './operation.ts';
import * as op from './operations/matrix.ts';
import { principalOf, type AppEnv } from './env.ts';

/** /v1/control-matrix: the table, the dry-run check, and each flow's entry, versions and diffs. */
export function matrixRouter(deps: Deps): OpenAPIHono<AppEnv> {
  const app = operationsRouter();

  serve(app, op.getControlMatrix, async (c, { query }) => {
    const rows = (await currentFlows(deps)).map((f) => toRow(f.entry, f.version));
    if (query.format === 'csv') return c.body(toCsv(rows), 200, { 'Content-Type': 'text/csv; charset=utf-8', 'Content-Disposition': 'inline; filename="control-matrix.csv"' });
    if (query.format === 'md') return c.body(toMarkdown(rows), 200, { 'Content-Type': 'text/markdown; charset=utf-8' });
    return c.json(rows);
  });

  serve(app, op.validateMatrixEntry, async (c, { query }) => {
    const { findings } = await checkMatrixDocument(deps, 'flow', await c.req.text(), formatOfContentType(c.req.header('content-type')), query.flow);
    if (findings.length > 0) {
      throw new AccordError('invalid_document', `The entry fails ${findings.length} check${findings.length === 1 ? '' : 's'}`, {
        errors: findings.map((f) => ({ location: f.location, message: f.message, rule: f.rule })),
        extra: { valid: false },
      });
    }
    return c.json({ valid: true as const, errors: [] });
  });

  serve(app, op.putMatrixEntry, async (c, { params }) => {
    const result = await putMatrixDocument(deps, principalOf(c), {
      kind: 'flow',
      name: params.flow,
      body: await c.req.text(),
      format: formatOfContentType(c.req.header('content-type')),
    });
    c.header('Location', absoluteUrl(deps.config, `/v1/control-matrix/${result.version.name}?version=${result.version.version}`));
    return c.json(result.version, result.created ? 201 : 200);
  });

  serve(app, op.getMatrixEntry, async (c, { params, query }) => c.json(await getMatrixDocument(deps, 'flow', params.flow, query.version)));

  serve(app, op.listMatrixEntryVersions, async (c, { params }) => c.json(await listMatrixVersions(deps, params.flow)));

  serve(app, op.diffMatrixEntryVersions, async (c, { params, query }) => {
    const { flow } = params;
    const { from, to } = query;
    return respondDiff(c, await diffMatrixVersions(deps, flow, from, to), query.format, `control matrix ${flow} v${from} → v${to}`);
  });

  return app;
}
