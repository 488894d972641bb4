import { Hono } from 'hono';
import { formatOfContentType } from '../contracts/document.ts';
import { registerContractVersion } from '../contracts/register.ts';
import { contractHistory, getDocument, getVersion, listContracts, listVersions, toView } from '../contracts/versions.ts';
import type { Deps } from '../context.ts';
import { diffRegisteredVersions } from '../diff/service.ts';
import { parseYaml } from '../lib/yaml.ts';
import { respondDiff } from './diff.ts';
import { absoluteUrl } from '../lib/public-url.ts';
import { negotiate, principalOf, type AppEnv } from './types.ts';

const DOCUMENT_TYPES = ['application/yaml', 'application/json', 'text/yaml'] as const;

/** True when an If-None-Match header matches the entity tag. */
function matchesEtag(header: string | undefined, etag: string): boolean {
  if (!header) return false;
  return header.split(',').some((t) => {
    const tag = t.trim().replace(/^W\//, '');
    return tag === '*' || tag === etag;
  });
}

/** Routes under /v1/contracts. */
export function contractsRouter(deps: Deps): Hono<AppEnv> {
  const app = new Hono<AppEnv>();

  app.get('/', (c) => c.json(listContracts(deps, principalOf(c))));

  app.post('/:partner/:api/versions', async (c) => {
    const { partner, api } = c.req.param();
    const result = await registerContractVersion(deps, principalOf(c), {
      partner,
      api,
      version: c.req.query('version'),
      body: await c.req.text(),
      format: formatOfContentType(c.req.header('content-type')),
      allowBreaking: c.req.query('allowBreaking') === 'true',
    });
    const v = result.version;
    c.header('Location', absoluteUrl(deps.config, `/v1/contracts/${v.partner}/${v.api}/versions/${v.version}`));
    return c.json({ ...v, ...(result.diff ? { diff: result.diff } : {}) }, result.created ? 201 : 200);
  });

  app.get('/:partner/:api/versions', (c) => {
    const { partner, api } = c.req.param();
    return c.json(listVersions(deps, principalOf(c), partner, api));
  });

  app.get('/:partner/:api/versions/:version', (c) => {
    const { partner, api, version } = c.req.param();
    return c.json(toView(getVersion(deps, principalOf(c), partner, api, version)));
  });

  app.get('/:partner/:api/versions/:version/document', async (c) => {
    const { partner, api, version } = c.req.param();
    const type = negotiate(c.req.header("accept"), DOCUMENT_TYPES);
    const { row, yaml } = await getDocument(deps, principalOf(c), partner, api, version);
    const etag = `"${row.sha256}"`;
    c.header('ETag', etag);
    c.header('Vary', 'Accept');
    c.header('Cache-Control', 'private, max-age=0, must-revalidate');
    if (matchesEtag(c.req.header('if-none-match'), etag)) return c.body(null, 304);
    if (type === 'application/json') return c.body(JSON.stringify(parseYaml(yaml, { maxAliases: 0 }), null, 2), 200, { 'Content-Type': 'application/json' });
    return c.body(yaml, 200, { 'Content-Type': `${type}; charset=utf-8` });
  });

  app.get('/:partner/:api/diff', async (c) => {
    const { partner, api } = c.req.param();
    const result = await diffRegisteredVersions(deps, principalOf(c), partner, api, c.req.query('from'), c.req.query('to'));
    return respondDiff(c, result, `${partner}/${api} ${result.from} → ${result.to}`);
  });

  app.get('/:partner/:api/history', async (c) => {
    const { partner, api } = c.req.param();
    return c.json(await contractHistory(deps, principalOf(c), partner, api));
  });

  return app;
}
