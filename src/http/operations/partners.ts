import { z } from '@hono/zod-openapi';
import { ASSERTION_ALGORITHMS, EndpointsRequest } from '../../partners/endpoints.ts';
import { defineOperation, json, jsonBodyOf, pathParam, problem } from '../operation.ts';

/** /v1/partners/{partner}/endpoints: where Accord reaches a partner's API per environment, and how it authenticates (issue 20). */

const Stamp = { updatedAt: z.string(), updatedBy: z.string() };
const Endpoint = z
  .object({
    baseUrl: z.string(),
    auth: z.discriminatedUnion('type', [
      z.object({ type: z.enum(['none', 'bearer']), credentialStored: z.boolean() }),
      z.object({
        type: z.literal('private_key_jwt'),
        tokenUrl: z.string(),
        clientId: z.string(),
        scope: z.string().nullable(),
        keyId: z.string().nullable(),
        alg: z.enum(ASSERTION_ALGORITHMS),
        credentialStored: z.boolean(),
      }),
    ]),
    certifyEvery: z.string().nullable().meta({ description: 'How often Accord certifies the APIs released here (ISO 8601 duration); null: only on request' }),
    ...Stamp,
  })
  .meta({ id: 'PartnerEndpoint', description: 'One environment: its base URL and how Accord authenticates (credentials are never returned: `credentialStored` says whether one is held)' });

const PartnerEndpoints = z.object({ partner: z.string(), environments: z.record(z.string(), Endpoint) }).meta({ id: 'PartnerEndpoints' });

const params = { params: z.object({ partner: pathParam('Partner id') }) };

export const getPartnerEndpoints = defineOperation({
  operationId: 'getPartnerEndpoints',
  method: 'get',
  path: '/v1/partners/{partner}/endpoints',
  tags: ['Partners'],
  summary: 'A partner’s endpoints per environment (credentials left out)',
  description: 'Admins read any partner’s; a partner its own (403 for another’s). A partner with no registered contract: 404.',
  roles: ['admin', 'partner'],
  scope: 'endpoints',
  request: params,
  responses: { 200: json(PartnerEndpoints), 404: problem },
});

export const putPartnerEndpoints = defineOperation({
  operationId: 'putPartnerEndpoints',
  method: 'put',
  path: '/v1/partners/{partner}/endpoints',
  tags: ['Partners'],
  summary: 'Set a partner’s endpoints: base URL per environment and how Accord authenticates (none, bearer, or private_key_jwt as in SMART Backend Services)',
  description:
    'Replaces every environment at once. Base and token URLs follow the outbound address rules of webhooks (public addresses unless `ACCORD_OUTBOUND_ALLOW_PRIVATE` / `ACCORD_OUTBOUND_ALLOW_CIDRS` allow others). A bearer token or a PKCS#8 private key (checked by signing a test assertion) is sealed with `ACCORD_SECRETS_KEY` (AES-256-GCM) and never returned; left out, the stored one of the same kind is kept. No `ACCORD_SECRETS_KEY` and a credential to store: 503. Any problem: 422 with `errors`, nothing written. Admins set any partner’s; a partner its own (403).',
  roles: ['admin', 'partner'],
  scope: 'endpoints',
  request: { ...params, body: jsonBodyOf(EndpointsRequest) },
  invalid: { detail: 'Invalid partner endpoints' },
  responses: { 200: json(PartnerEndpoints), 404: problem, 422: problem, 503: problem },
});

export const partnerOperations = [getPartnerEndpoints, putPartnerEndpoints];
