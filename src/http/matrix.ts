import type { OpenAPIHono } from '@hono/zod-openapi';
import type { Context } from 'hono';
import type { Deps } from '../deps.ts';
import { formatOfContentType } from '../contracts/document.ts';
import { diffMatrixVersions } from '../diff/service.ts';
import { AccordError } from '../errors.ts';
import { absoluteUrl } from '../lib/public-url.ts';
import { MATRIX_TABLE_FORMATS, toCsv, toMarkdown, toRow } from '../matrix/render.ts';
import { DIFF_FORMATS } from '../diff/render.ts';
import { chooseRepresentation } from './formats.ts';
import { REPRESENTATIONS } from '../lib/representations.ts';
import { matrixEtag } from '../matrix/preconditions.ts';
import { getMatrixProposal, listMatrixProposals, reviewMatrixProposal, writeMatrixEntry } from '../matrix/proposals.ts';
import { checkMatrixDocument, currentFlows, getMatrixDocument, latestMatrixRow, listMatrixVersions } from '../matrix/store.ts';
import { consequenceOf } from '../diff/consequence.ts';
import { respondDiff } from './diff.ts';
import { operationsRouter, serve } from './operation.ts';
import { pageFrom, sendPage } from './pages.ts';
import * as op from './operations/matrix.ts';
import { principalOf, type AppEnv } from './env.ts';

/** Sets `ETag` to the flow's approved version (none while it has none). */
async function setEtag(deps: Deps, c: Context<AppEnv>, flow: string): Promise<void> {
  const approved = await latestMatrixRow(deps, flow);
  if (approved?.kind === 'flow') c.header('ETag', matrixEtag(approved.version));
}

/** /v1/control-matrix: the table, the dry-run check, and each flow's entry, versions and diffs. */
export function matrixRouter(deps: Deps): OpenAPIHono<AppEnv> {
  const app = operationsRouter();

  serve(app, op.getControlMatrix, async (c, { query }) => {
    const rows = (await currentFlows(deps)).map((f) => toRow(f.entry, f.version));
    const format = chooseRepresentation(c, query.format, MATRIX_TABLE_FORMATS);
    if (format === 'csv') return c.body(toCsv(rows), 200, { 'Content-Type': REPRESENTATIONS.csv.type, 'Content-Disposition': 'inline; filename="control-matrix.csv"' });
    if (format === 'markdown') return c.body(toMarkdown(rows), 200, { 'Content-Type': REPRESENTATIONS.markdown.type });
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

  serve(app, op.putMatrixEntry, async (c, { params, query }) => {
    const result = await writeMatrixEntry(deps, principalOf(c), {
      flow: params.flow,
      body: await c.req.text(),
      format: formatOfContentType(c.req.header('content-type')),
      preconditions: { ifMatch: c.req.header('if-match'), ifNoneMatch: c.req.header('if-none-match') },
      breakGlass: query.breakGlass,
    });
    const { name, version } = result.version;
    c.header('Location', absoluteUrl(deps.config, result.proposal ? `/v1/control-matrix/${name}/proposals/${version}` : `/v1/control-matrix/${name}?version=${version}`));
    await setEtag(deps, c, name);
    return c.json(result.proposal ?? result.version, result.created ? 201 : 200);
  });

  serve(app, op.getMatrixEntry, async (c, { params, query }) => {
    const doc = await getMatrixDocument(deps, 'flow', params.flow, query.version);
    await setEtag(deps, c, params.flow);
    return c.json(doc);
  });

  serve(app, op.listMatrixEntryVersions, async (c, { params, query }) => sendPage(c, deps.config, 'matrix-versions', await listMatrixVersions(deps, params.flow, pageFrom('matrix-versions', ['number'], query))));

  serve(app, op.diffMatrixEntryVersions, async (c, { params, query }) => {
    const { flow } = params;
    const { from, to } = query;
    return respondDiff(c, await diffMatrixVersions(deps, flow, from, to), query.format, `control matrix ${flow} v${from} → v${to}`);
  });

  serve(app, op.listMatrixProposals, async (c, { params, query }) => {
    const proposals = await listMatrixProposals(deps, params.flow, query.status, pageFrom('matrix-proposals', ['number'], query));
    await setEtag(deps, c, params.flow);
    return sendPage(c, deps.config, 'matrix-proposals', proposals);
  });

  serve(app, op.getMatrixProposal, async (c, { params, query }) => {
    const { flow, version } = params;
    const { diffResult, ...proposal } = await getMatrixProposal(deps, flow, version);
    await setEtag(deps, c, flow);
    const format = chooseRepresentation(c, query.format, DIFF_FORMATS);
    if (format !== 'json') return respondDiff(c, diffResult, format, `control matrix ${flow}: proposal v${version} against v${proposal.baseVersion ?? '—'} (${proposal.status})`);
    // As every diff answered as JSON: each change with what it means for partners.
    return c.json({ ...proposal, diff: { ...proposal.diff, ...(proposal.diff.changes ? { changes: proposal.diff.changes.map((change) => ({ ...change, consequence: consequenceOf(change) })) } : {}) } });
  });

  serve(app, op.reviewMatrixProposal, async (c, { params, body }) => c.json(await reviewMatrixProposal(deps, principalOf(c), params.flow, params.version, body), 201));

  return app;
}
