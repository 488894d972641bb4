import { z } from 'zod';
import { checkIds } from '../contracts/ids.ts';
import { durationMs } from '../matrix/durations.ts';
import { tokenNameProblem } from './names.ts';
import { ROLES } from './principal.ts';
import { SCOPE_NAMES } from './scopes.ts';

/** The longest lifetime a token may be given (100 years; longer is `expiresIn: "never"`). */
const MAX_TTL_MS = 36_500 * 86_400_000;
/** The `expiresIn` of a token that does not expire. */
export const NEVER = 'never';

/** Milliseconds of a valid `expiresIn` duration, else undefined. */
export function ttlOf(expiresIn: string): number | undefined {
  let ms: number;
  try {
    ms = durationMs(expiresIn);
  } catch {
    return undefined;
  }
  return ms > 0 && ms <= MAX_TTL_MS ? ms : undefined;
}

const NAME_RULE = 'must be a non-empty name of at most 100 characters';
const SCOPES_RULE = `must be a non-empty array of at most ${SCOPE_NAMES.length} scopes: ${SCOPE_NAMES.join(', ')}`;

/**
 * A token request (API and CLI): its shape. What depends on who asks (scopes within the creator's
 * and the role's, expiry by the creator's) is checked when the token is created.
 */
export const TokenRequest = z
  .object({
    role: z.enum(ROLES, { error: `must be one of ${ROLES.join(', ')}` }),
    name: z
      .string({ error: NAME_RULE })
      .superRefine((name, ctx) => {
        const problem = tokenNameProblem(name);
        if (problem) ctx.addIssue({ code: 'custom', message: problem });
      })
      .meta({ description: 'At most 100 printable characters: no control, format, default-ignorable, separator, private-use or unassigned code points, no < or >', maxLength: 100 }),
    partner: z.string({ error: 'partner tokens must name their partner' }).nullish().meta({ description: 'The partner a partner token is bound to (partner tokens only)' }),
    expiresIn: z
      .string()
      .refine((value) => value === NEVER || ttlOf(value) !== undefined, {
        message: 'must be an ISO 8601 duration of days, hours, minutes or seconds, longer than zero and at most P36500D (e.g. P30D, PT12H), or "never"',
      })
      .optional()
      .meta({ description: "Lifetime as an ISO 8601 duration (P30D, PT12H), or \"never\"; default ACCORD_TOKEN_DEFAULT_TTL, else no expiry. Never beyond the creating token's own expiry (422)", examples: ['P30D'] }),
    scopes: z
      .array(z.unknown(), { error: SCOPES_RULE })
      .min(1, SCOPES_RULE)
      .max(SCOPE_NAMES.length, SCOPES_RULE)
      .superRefine((scopes, ctx) => {
        scopes.forEach((scope, i) => {
          if (typeof scope !== 'string' || !(SCOPE_NAMES as readonly string[]).includes(scope)) ctx.addIssue({ code: 'custom', path: [i], message: `unknown scope ${JSON.stringify(scope)}; scopes are ${SCOPE_NAMES.join(', ')}` });
          else if (scopes.indexOf(scope) !== i) ctx.addIssue({ code: 'custom', path: [i], message: `"${scope}" is listed twice` });
        });
      })
      .pipe(z.array(z.enum(SCOPE_NAMES)))
      .nullish()
      .meta({ description: 'Limit the token to these scopes (each must be one its role can use); default: everything the role allows', items: { type: 'string', enum: SCOPE_NAMES }, uniqueItems: true }),
  })
  .superRefine((input, ctx) => {
    if (input.role === 'partner') {
      if (typeof input.partner !== 'string') ctx.addIssue({ code: 'custom', path: ['partner'], message: 'partner tokens must name their partner' });
      else for (const e of checkIds({ '/partner': input.partner })) ctx.addIssue({ code: 'custom', path: ['partner'], message: e.message });
    } else if (input.partner !== undefined && input.partner !== null) {
      ctx.addIssue({ code: 'custom', path: ['partner'], message: 'only partner tokens are bound to a partner' });
    }
  })
  .meta({ id: 'TokenRequest' });

export type TokenRequest = z.output<typeof TokenRequest>;
