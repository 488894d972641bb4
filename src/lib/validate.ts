import type { z } from 'zod';
import { AccordError, type ErrorCode, type FieldError } from '../errors.ts';

/** Where a value came from: a JSON body (findings are JSON pointers) or named parameters. */
export type InputSource = 'body' | 'parameters';

/** Zod's findings as Accord's: a JSON pointer into a body, or a parameter's name. */
export function fieldErrors(error: z.ZodError, source: InputSource): FieldError[] {
  return error.issues.map((issue) => {
    const path = issue.path.map(String);
    const location = source === 'body' ? `/${path.map((p) => p.replace(/~/g, '~0').replace(/\//g, '~1')).join('/')}` : path.join('.');
    return { location: source === 'body' && path.length === 0 ? '' : location, message: issue.message };
  });
}

/**
 * Parses `value` with `schema` or throws the 4xx problem listing every finding (the API's
 * operation definitions and the console's forms validate with the same schemas through this).
 * @param options.code the problem's code: 422 invalid_document for bodies unless told otherwise
 * @param options.detail the problem's detail, e.g. "Invalid change request"
 */
export function parseInput<S extends z.ZodType>(schema: S, value: unknown, options: { detail: string; code?: ErrorCode; source?: InputSource }): z.output<S> {
  const result = schema.safeParse(value);
  if (result.success) return result.data;
  const source = options.source ?? 'body';
  throw new AccordError(options.code ?? (source === 'body' ? 'invalid_document' : 'bad_request'), options.detail, { errors: fieldErrors(result.error, source) });
}
