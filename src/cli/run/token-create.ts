import { TokenRequest } from '../../auth/token-request.ts';
import { createToken } from '../../auth/tokens.ts';
import { scopesOfRole } from '../../http/api.ts';
import { parseInput } from '../../lib/validate.ts';
import { CliFailure } from '../errors.ts';
import { localDatabaseFile, withDatabase } from '../local-data.ts';
import type { CommandRun } from '../command.ts';

/** What `accord token create` does (its help: src/cli/commands/token-create.ts), loaded only when it runs. */
export const run: CommandRun = async ({ values }, { config, print }) => {
  if (!values.role) throw new CliFailure('--role is required (admin, author, approver, ci or partner)', 3);
  const role = values.role as string;
  const scopes = values.scopes === undefined ? undefined : (values.scopes as string).split(',').map((scope) => scope.trim());
  return withDatabase(config, localDatabaseFile(config), async (db) => {
    const request = parseInput(
      TokenRequest,
      { role, partner: values.partner, name: (values.name as string | undefined) ?? `${role}${values.partner ? ` ${values.partner}` : ''} (cli)`, expiresIn: values['expires-in'], scopes },
      { detail: 'Invalid token request' },
    );
    const created = await createToken({ db, clock: () => new Date(), config }, 'accord-cli', request, { scopesOfRole });
    print(created, (t) =>
      [
        `Created ${t.role} token ${t.id} "${t.name}"${t.partner ? ` for partner ${t.partner}` : ''}.`,
        `Expires: ${t.expiresAt ?? 'never'}. Scopes: ${t.scopes?.join(', ') ?? `everything the ${t.role} role allows`}.`,
        'Secret (shown once):',
        t.token,
      ].join('\n'),
    );
    return 0;
  });
};
