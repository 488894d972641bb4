import { SCOPE_NAMES } from '../../auth/scopes.ts';
import { lazyCommand, type Command } from '../command.ts';

/** `accord token create`: a token written straight into the local data dir, its secret shown once. */
export const tokenCreate: Command = lazyCommand({
  name: 'token create',
  synopsis: 'accord token create --role R [--partner P] [--name N] [--expires-in P30D] [--scopes S,S]',
  summary: 'create a token in the local data dir (shown once)',
  help: `accord token create --role <admin|author|approver|ci|partner> [--partner <id>] [--name <name>]
                    [--expires-in <ISO 8601 duration>] [--scopes <scope,scope,…>]

Creates a token directly in the local storage (the data dir's database, ACCORD_DATA_DIR, or the
PostgreSQL database ACCORD_DATABASE_URL names) and prints the secret once.
Use it on the server host to bootstrap or recover access. --partner is required for --role partner.
--expires-in sets its lifetime (e.g. P30D, PT12H, or never; default ACCORD_TOKEN_DEFAULT_TTL, else none).
--scopes limits it to some of the scopes its role allows (e.g. notices:read,exchange); scopes:
${SCOPE_NAMES.join(', ')}.
--format json (or --json) prints the token record, secret included, as JSON.`,
  options: { role: { type: 'string' }, partner: { type: 'string' }, name: { type: 'string' }, 'expires-in': { type: 'string' }, scopes: { type: 'string' } },
}, () => import('../run/token-create.ts'));
