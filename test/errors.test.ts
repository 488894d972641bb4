import { describe, expect, it } from 'vitest';
import { AccordError, errorCodeOf } from '../src/errors.ts';

describe('errorCodeOf (the code of an exchange refusal rendered as problem+json)', () => {
  it('names a status by the closed list, so a 415 or 429 problem is not titled "Bad request"', () => {
    expect(errorCodeOf(413)).toBe('payload_too_large');
    expect(errorCodeOf(415)).toBe('unsupported_media_type');
    expect(errorCodeOf(429)).toBe('too_many_requests');
    expect(errorCodeOf(409)).toBe('conflict');
    expect(errorCodeOf(422)).toBe('invalid_document');
    expect(new AccordError(errorCodeOf(415), 'x').toProblem().title).toBe('Unsupported media type');
  });

  it('falls back by class: 410 is a not_found that stays, other 4xx bad_request, 5xx unavailable', () => {
    expect(errorCodeOf(410)).toBe('not_found');
    expect(errorCodeOf(418)).toBe('bad_request');
    expect(errorCodeOf(502)).toBe('unavailable');
    expect(errorCodeOf(503)).toBe('unavailable');
  });
});

describe('AccordError.toProblem', () => {
  it('keeps the RFC 9457 members when an error carries extra members of the same names', () => {
    const problem = new AccordError('conflict', 'Version 2 is not an open proposal', { extra: { status: 'approved', type: 'x', detail: 'y', proposalStatus: 'approved' } }).toProblem();
    expect(problem).toMatchObject({ status: 409, type: 'urn:accord:problem:conflict', detail: 'Version 2 is not an open proposal', proposalStatus: 'approved' });
  });
});
