/** The closed list of error codes and the HTTP status each maps to. */
export const ERROR_STATUS = {
  bad_request: 400,
  unauthorized: 401,
  forbidden: 403,
  not_found: 404,
  method_not_allowed: 405,
  not_acceptable: 406,
  conflict: 409,
  precondition_failed: 412,
  payload_too_large: 413,
  unsupported_media_type: 415,
  invalid_document: 422,
  too_many_requests: 429,
  internal: 500,
  unavailable: 503,
} as const satisfies Record<string, number>;

export type ErrorCode = keyof typeof ERROR_STATUS;

/**
 * The code of an HTTP error status: the one the closed list maps to it; 410 Gone is a not_found
 * that stays; otherwise unavailable for 5xx and bad_request for other 4xx.
 */
export function errorCodeOf(status: number): ErrorCode {
  const exact = (Object.keys(ERROR_STATUS) as ErrorCode[]).find((code) => ERROR_STATUS[code] === status);
  if (exact) return exact;
  if (status === 410) return 'not_found';
  return status >= 500 ? 'unavailable' : 'bad_request';
}

const TITLES: Record<ErrorCode, string> = {
  bad_request: 'Bad request',
  unauthorized: 'Authentication required',
  forbidden: 'Forbidden',
  not_found: 'Not found',
  method_not_allowed: 'Method not allowed',
  not_acceptable: 'Not acceptable',
  conflict: 'Conflict',
  precondition_failed: 'Precondition failed',
  payload_too_large: 'Payload too large',
  unsupported_media_type: 'Unsupported media type',
  invalid_document: 'Invalid document',
  too_many_requests: 'Too many requests',
  internal: 'Internal server error',
  unavailable: 'Service unavailable',
};

/** One validation finding: where (JSON pointer or parameter name) and what. */
export interface FieldError {
  location: string;
  message: string;
  rule?: string;
  /** The file of a batch (POST /v1/imports) the finding is about. */
  path?: string;
  /** 1-based position in the submitted text, where known (style-rule findings). */
  line?: number;
  column?: number;
}

/** RFC 9457 problem details with Accord's extension members. */
export interface Problem {
  type: string;
  title: string;
  status: number;
  detail: string;
  instance?: string;
  code: ErrorCode;
  requestId?: string;
  errors?: FieldError[];
  [extension: string]: unknown;
}

/** Findings a problem body lists at most; the rest are counted (a document can have a million). */
const MAX_LISTED_ERRORS = 100;

function listed(errors: FieldError[]): FieldError[] {
  if (errors.length <= MAX_LISTED_ERRORS) return errors;
  return [...errors.slice(0, MAX_LISTED_ERRORS), { location: '', message: `and ${errors.length - MAX_LISTED_ERRORS} more problems` }];
}

/** Accord's one error type: a code from the closed list, a human detail and optional findings. */
export class AccordError extends Error {
  readonly code: ErrorCode;
  readonly errors: FieldError[] | undefined;
  /** Extra members merged into the problem body (e.g. the existing version on a conflict). */
  readonly extra: Record<string, unknown> | undefined;

  /** Seconds a client should wait before retrying (429, 503): sent as Retry-After. */
  readonly retryAfterSeconds: number | undefined;

  constructor(code: ErrorCode, detail: string, options: { errors?: FieldError[]; extra?: Record<string, unknown>; cause?: unknown; retryAfterSeconds?: number } = {}) {
    super(detail, { cause: options.cause });
    this.name = 'AccordError';
    this.retryAfterSeconds = options.retryAfterSeconds;
    this.code = code;
    this.errors = options.errors;
    this.extra = options.extra;
  }

  get status(): number {
    return ERROR_STATUS[this.code];
  }

  /** Renders the error as an RFC 9457 body. */
  toProblem(context: { instance?: string; requestId?: string } = {}): Problem {
    // Extra members first: they never replace a member RFC 9457 defines (a 409 once said `status: "approved"`).
    return {
      ...this.extra,
      type: `urn:accord:problem:${this.code}`,
      title: TITLES[this.code],
      status: this.status,
      detail: this.message,
      ...(context.instance ? { instance: context.instance } : {}),
      code: this.code,
      ...(context.requestId ? { requestId: context.requestId } : {}),
      ...(this.errors ? { errors: listed(this.errors) } : {}),
    };
  }
}
