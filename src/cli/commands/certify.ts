import { lazyCommand, type Command } from '../command.ts';

const SYNOPSIS = `accord certify --partner P --api A --version V (--environment E | --target reference)
               [--target endpoint|reference] [--seed N] [--junit FILE] [--timeout SECONDS] [--poll-interval MS] [--format text|json]`;

/** `accord certify`: runs a certification on the server and waits for its verdict (exit 0 passed, 1 failed, 3 error). */
export const certify: Command = lazyCommand(
  {
    name: 'certify',
    synopsis: SYNOPSIS,
    summary: 'certify a partner API version on the server and wait for the verdict\n(exit 0 passed, 1 failed, 3 error or timeout)',
    help: `${SYNOPSIS}

Asks the server at ACCORD_URL (with ACCORD_TOKEN) to certify P/A@V in environment E
(POST /v1/certifications), then polls the run every --poll-interval ms (default 1000) until it
finishes, printing its progress on stderr when it changes. --target endpoint (default) runs the
cases against the partner's registered endpoint for E, reference against Accord's reference
implementation of the version (in the server's runtime environment: --environment may be left
out); --seed N makes the generated cases reproducible. --env is short for --environment.

Prints the run's id and URL, its verdict, passed and failed cases per category (contract,
idempotency, duplicate-handling, failure, trace, deprecation), each failed case with its
findings and the evidence the run recorded. --format json (or --json) prints the finished run
as the server answered, without the cases' HTTP exchanges. --junit FILE writes the run's JUnit
report (GET /v1/certifications/{id}/junit) to FILE, also when the run failed.

Exit 0 passed, 1 failed, 3 error: the run ended in error, did not finish within --timeout
seconds (default 600; it goes on on the server, and its URL is printed), the server refused the
request (an unknown version, a bad option) or could not be reached, or a usage mistake.`,
    options: {
      partner: { type: 'string' },
      api: { type: 'string' },
      version: { type: 'string' },
      environment: { type: 'string' },
      env: { type: 'string' },
      target: { type: 'string' },
      seed: { type: 'string' },
      junit: { type: 'string' },
      timeout: { type: 'string' },
      'poll-interval': { type: 'string' },
    },
  },
  () => import('../run/certify.ts'),
);
