import { callServer } from '../client.ts';
import type { Command, CommandArgs, CommandContext } from '../command.ts';
import { usageFailure } from '../errors.ts';
import { readInputFile } from '../files.ts';

const OPTIONS = {
  partner: { type: 'string' },
  api: { type: 'string' },
  version: { type: 'string' },
  kind: { type: 'string' },
  result: { type: 'string' },
  sha256: { type: 'string' },
  uri: { type: 'string' },
  env: { type: 'string' },
  commit: { type: 'string' },
  'produced-at': { type: 'string' },
  'expires-at': { type: 'string' },
} as const;

/** Records one piece of evidence, given as flags (`add`) or read from a JUnit report (`junit`). */
async function recordEvidence(command: Command, junit: boolean, { values, positionals }: CommandArgs, { config, print }: CommandContext): Promise<number> {
  const required = ['partner', 'api', 'version', 'kind', 'uri', 'env', 'commit', ...(junit ? [] : ['result'])];
  const missing = required.filter((k) => !values[k]);
  if (missing.length > 0 || (junit ? positionals.length !== 1 : positionals.length !== 0)) {
    throw usageFailure(command, missing.length ? `Missing: ${missing.map((m) => `--${m}`).join(', ')}` : undefined);
  }
  let sha = values.sha256 as string | undefined;
  if (!sha) {
    const meta = await callServer(config, 'GET', `/v1/contracts/${values.partner}/${values.api}/versions/${encodeURIComponent(values.version as string)}`);
    sha = (meta.json as { sha256: string }).sha256;
  }
  const fields = {
    partner: values.partner,
    api: values.api,
    version: values.version,
    kind: values.kind,
    sha256: sha,
    uri: values.uri,
    environment: values.env,
    commit: values.commit,
    producedAt: (values['produced-at'] as string | undefined) ?? new Date().toISOString(),
    ...(values['expires-at'] ? { expiresAt: values['expires-at'] } : {}),
  };
  const result = junit
    ? await callServer(config, 'POST', `/v1/evidence/junit?${new URLSearchParams(fields as Record<string, string>)}`, { text: await readInputFile(positionals[0]!), contentType: 'application/xml' })
    : await callServer(config, 'POST', '/v1/evidence', { text: JSON.stringify({ ...fields, result: values.result }), contentType: 'application/json' });
  type Recorded = { id: string; kind: string; result: string; boundToContent: boolean; report: { tests: number; failures: number; errors: number; skipped: number } | null };
  print(result.json as Recorded, (e) => `Recorded ${e.kind} evidence ${e.id}: ${e.result}${e.report ? ` (${e.report.tests} tests, ${e.report.failures} failures, ${e.report.errors} errors, ${e.report.skipped} skipped)` : ''}${e.boundToContent ? '' : ' — WARNING: not bound to the registered content, it will not count'}`);
  return 0;
}

/** `accord evidence add`: records release evidence given as flags. */
export const evidenceAdd: Command = {
  name: 'evidence add',
  synopsis: 'accord evidence add --partner P --api A --version V --kind K --result pass|fail --uri U --env E --commit C',
  help: `accord evidence add --partner P --api A --version V --kind K --result pass|fail --uri U --env E --commit C
                    [--sha256 S] [--produced-at ISO] [--expires-at ISO]

Records release evidence (kinds: contract-test, replay-test, duplicate-handling-test,
failure-injection, trace-completeness, rollback-plan, runbook, synthetic-check). --sha256 is the
contract content the evidence was produced for (the document's ETag); it defaults to the
registered content's. --format json (or --json) prints the record as the server answered.
Exit 0 recorded, 1 refused, 3 could not run.`,
  options: OPTIONS,
  run: (args, context) => recordEvidence(evidenceAdd, false, args, context),
};

/** `accord evidence junit`: records release evidence from a JUnit XML report. */
export const evidenceJunit: Command = {
  name: 'evidence junit',
  synopsis: 'accord evidence junit <report.xml> --partner P --api A --version V --kind K --uri U --env E --commit C',
  summary: "record release evidence (sha256 defaults to the registered content's)",
  help: `accord evidence junit <report.xml> --partner P --api A --version V --kind K --uri U --env E --commit C
                      [--sha256 S] [--produced-at ISO] [--expires-at ISO]

Records evidence from a JUnit XML report: Accord counts tests, failures, errors and skipped and
stores the summary and the report's sha256; it passes when tests ran and none failed.`,
  options: OPTIONS,
  run: (args, context) => recordEvidence(evidenceJunit, true, args, context),
};
