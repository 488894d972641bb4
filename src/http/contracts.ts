import type { OpenAPIHono } from '@hono/zod-openapi';
import { setConsumers } from '../changes/consumers.ts';
import { consumersWithUsage, declareUsage } from '../changes/usage.ts';
import { formatOfContentType } from '../contracts/document.ts';
import { registerContractVersion } from '../contracts/register.ts';
import { contractHistory, getDocument, getVersion, listContracts, listVersions, toView } from '../contracts/versions.ts';
import type { Deps } from '../deps.ts';
import { diffRegisteredVersions } from '../diff/service.ts';
import { absoluteUrl } from '../lib/public-url.ts';
import { parseYaml } from '../lib/yaml.ts';
import { deprecateVersion, releaseNotes } from '../notices/notices.ts';
import { respondDiff } from './diff.ts';
import { operationsRouter, serve } from './operation.ts';
import { pageFrom, sendPage } from './pages.ts';
import * as op from './operations/contracts.ts';
import { principalOf, type AppEnv } from './env.ts';
import { negotiate } from './request.ts';
import { chooseRepresentation } from './formats.ts';
import { DIFF_FORMATS } from '../diff/render.ts';

const DOCUMENT_TYPES = ['application/yaml', 'application/json', 'text/yaml'] as const;

/** True when an If-None-Match header matches the entity tag. */
function matchesEtag(header: string | undefined, etag: string): boolean {
  if (!header) return false;
  return header.split(',').some((t) => {
    const tag = t.trim().replace(/^W\//, '');
    return tag === '*' || tag === etag;
  });
}

/** /v1/contracts: contracts, versions, documents, diffs, history, consumers, deprecations and release notes. */
export function contractsRouter(deps: Deps): OpenAPIHono<AppEnv> {
  const app = operationsRouter();

  serve(app, op.listContracts, async (c, { query }) => sendPage(c, deps.config, 'contracts', await listContracts(deps, principalOf(c), pageFrom('contracts', ['string', 'string'], query))));

  serve(app, op.registerContractVersion, async (c, { params, query }) => {
    const result = await registerContractVersion(deps, principalOf(c), {
      partner: params.partner,
      api: params.api,
      version: query.version,
      body: await c.req.text(),
      format: formatOfContentType(c.req.header('content-type')),
      allowBreaking: query.allowBreaking === 'true',
    });
    const v = result.version;
    c.header('Location', absoluteUrl(deps.config, `/v1/contracts/${v.partner}/${v.api}/versions/${v.version}`));
    return c.json({ ...v, ...(result.diff ? { diff: result.diff } : {}), ...(result.lint ? { lint: result.lint } : {}) }, result.created ? 201 : 200);
  });

  serve(app, op.listContractVersions, async (c, { params, query }) => sendPage(c, deps.config, 'versions', await listVersions(deps, principalOf(c), params.partner, params.api, pageFrom('versions', ['string', 'string'], query))));

  serve(app, op.getContractVersion, async (c, { params }) => c.json(toView(await getVersion(deps, principalOf(c), params.partner, params.api, params.version))));

  serve(app, op.getContractDocument, async (c, { params }) => {
    const type = negotiate(c.req.header('accept'), DOCUMENT_TYPES);
    const { row, yaml } = await getDocument(deps, principalOf(c), params.partner, params.api, params.version);
    const etag = `"${row.sha256}"`;
    c.header('ETag', etag);
    c.header('Vary', 'Accept');
    c.header('Cache-Control', 'private, max-age=0, must-revalidate');
    if (matchesEtag(c.req.header('if-none-match'), etag)) return c.body(null, 304);
    if (type === 'application/json') return c.body(JSON.stringify(parseYaml(yaml, { maxAliases: 0 }), null, 2), 200, { 'Content-Type': 'application/json' });
    return c.body(yaml, 200, { 'Content-Type': `${type}; charset=utf-8` });
  });

  serve(app, op.diffContractVersions, async (c, { params, query }) => {
    const { partner, api } = params;
    const format = chooseRepresentation(c, query.format, DIFF_FORMATS);
    const { artifacts, ...result } = await diffRegisteredVersions(deps, principalOf(c), partner, api, query.from, query.to, { sources: format === 'sarif' });
    return respondDiff(c, result, format, `${partner}/${api} ${result.from} → ${result.to}`, artifacts);
  });

  serve(app, op.listContractHistory, async (c, { params, query }) => sendPage(c, deps.config, 'history', await contractHistory(deps, principalOf(c), params.partner, params.api, pageFrom('history', ['string'], query))));

  serve(app, op.getContractConsumers, async (c, { params }) => c.json(await consumersWithUsage(deps, principalOf(c), params.partner, params.api)));

  serve(app, op.setContractConsumers, async (c, { params, body }) => {
    await setConsumers(deps, params.partner, params.api, body.consumers);
    return c.json(await consumersWithUsage(deps, principalOf(c), params.partner, params.api));
  });

  serve(app, op.declareConsumerUsage, async (c, { params, body }) => c.json(await declareUsage(deps, principalOf(c), params.partner, params.api, params.consumer, body)));

  serve(app, op.deprecateContractVersion, async (c, { params, body }) => {
    const { partner, api, version } = params;
    return c.json(await deprecateVersion(deps, principalOf(c), partner, api, version, body), 201);
  });

  serve(app, op.getReleaseNotes, async (c, { params }) => {
    const notes = await releaseNotes(deps, principalOf(c), params.partner, params.api, params.version);
    return c.body(notes, 200, { 'Content-Type': 'text/markdown; charset=utf-8' });
  });

  return app;
}
