import { AccordError } from '../errors.ts';

/** A 1-based `?page=` (1 when absent); 400 unless a whole number from 1. */
export function pageParam(raw: string | undefined): number {
  if (raw === undefined) return 1;
  if (!/^[1-9]\d{0,8}$/.test(raw)) throw new AccordError('bad_request', '?page must be a whole number from 1', { errors: [{ location: 'page', message: 'must be a whole number from 1' }] });
  return Number(raw);
}
