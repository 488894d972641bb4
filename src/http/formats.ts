import { z } from '@hono/zod-openapi';
import type { Context } from 'hono';
import { AccordError } from '../errors.ts';
import type { AppEnv } from './env.ts';
import { negotiate } from './request.ts';
import { REPRESENTATIONS, representationNamed, type Representation } from '../lib/representations.ts';

const mediaType = (r: Representation) => REPRESENTATIONS[r].type.split(';')[0]!;

/** The `?format=` of an operation offering `offered` (its default first): every name of each; without it, `Accept` decides. */
export function formatParam(offered: readonly Representation[]) {
  const names = offered.flatMap((r) => REPRESENTATIONS[r].names) as [string, ...string[]];
  return z
    .enum(names, { error: `must be one of ${names.join(', ')}` })
    .optional()
    .meta({
      description: `${offered.join(', ')} (${names.filter((n) => !offered.includes(n as Representation)).map((n) => `${n} = ${representationNamed(n)}`).join(', ') || 'no other names'}). Without it the Accept header chooses among ${offered.map(mediaType).join(', ')} (406 if it accepts none); ${offered[0]} by default.`,
    });
}

/**
 * The representation to answer in: `?format=` when given, else the best of the Accept header
 * (q-values, wildcards; the default — the first offered — wins ties and an absent header). 406
 * when Accept accepts none. Marks the answer `Vary: Accept`.
 */
export function chooseRepresentation<R extends Representation>(c: Context<AppEnv>, format: string | undefined, offered: readonly R[]): R {
  c.header('Vary', 'Accept');
  if (format !== undefined) {
    const named = representationNamed(format);
    if (!named || !offered.includes(named as R)) throw new AccordError('bad_request', `format must be one of ${offered.flatMap((r) => REPRESENTATIONS[r].names).join(', ')}`);
    return named as R;
  }
  const type = negotiate(c.req.header('accept'), offered.map(mediaType));
  return offered.find((r) => mediaType(r) === type)!;
}
