import fs from 'node:fs/promises';
import { accordVersion } from '../../lib/version.ts';
import path from 'node:path';
import type { Config } from '../../config.ts';
import { findExternalRefs, parseText } from '../../contracts/document.ts';
import { diffContracts } from '../../diff/contract-diff.ts';
import { diffMatrixEntries, keyedOperations } from '../../diff/matrix-diff.ts';
import { mergeOpenApiDiff, runOpenApiDiff } from '../../diff/openapi-diff.ts';
import type { Artifact } from '../../diff/lines.ts';
import { CLI_DIFF_FORMATS, renderDiff, type CliDiffFormat } from '../../diff/render.ts';
import type { DiffResult } from '../../diff/types.ts';
import { AccordError } from '../../errors.ts';
import { checkFlow, type FlowEntry } from '../../matrix/checks.ts';
import { callServer } from '../client.ts';
import { CliFailure, usageFailure } from '../errors.ts';
import { isDirectory, readInputFile } from '../files.ts';
import type { CommandRun } from '../command.ts';

const REF = /^([a-z0-9][a-z0-9-]{0,62})\/([a-z0-9][a-z0-9-]{0,62})@(\S+)$/;

/** One side of a diff: the parsed document and how SARIF and annotations name it (with a file's text, for lines). */
interface DiffSide {
  doc: unknown;
  artifact: Artifact;
}

/** Loads one side of a diff: a registry ref through the server, else a file. */
async function loadDiffSide(config: Config, arg: string): Promise<DiffSide> {
  const ref = REF.exec(arg);
  const isFile = await fs.stat(arg).then((s) => s.isFile(), () => false);
  if (ref && !isFile) {
    const [, partner, api, version] = ref;
    try {
      const doc = (await callServer(config, 'GET', `/v1/contracts/${partner}/${api}/versions/${encodeURIComponent(version!)}/document`, undefined, { Accept: 'application/json' })).json;
      return { doc, artifact: { uri: arg } };
    } catch (error) {
      // For diff, exit 1 means "changes found"; a ref that cannot be fetched is an error.
      throw error instanceof CliFailure ? new CliFailure(`${arg}: ${error.message}`, 3) : error;
    }
  }
  const text = await readInputFile(arg);
  try {
    const doc = parseText(text, /\.json$/i.test(arg) ? 'json' : 'yaml', { maxAliases: config.yamlMaxAliases });
    // The path as given (relative paths stay relative: GitHub matches annotations against the repository's paths).
    return { doc, artifact: { uri: arg.split(path.sep).join('/'), text } };
  } catch (error) {
    throw new CliFailure(`${arg}: ${(error as Error).message}${error instanceof AccordError && error.errors ? ` (${error.errors[0]?.location}: ${error.errors[0]?.message})` : ''}`, 3);
  }
}

const isMatrixEntry = (d: unknown) => typeof d === 'object' && d !== null && 'flow' in d && 'steps' in d && !('openapi' in d);

/** Diffs two control-matrix entries; whether a step's operation is keyed comes from the contracts in `contracts`, if that folder exists. */
async function diffEntries(base: unknown, revision: unknown, contractsDir: string, io: { err: (line: string) => void }): Promise<DiffResult> {
  for (const [name, doc] of [['base', base], ['revision', revision]] as const) {
    const findings = await checkFlow(doc, undefined);
    if (findings.some((f) => f.rule === 'matrix/schema')) throw new CliFailure(`${name} is not a valid control-matrix entry: ${findings[0]!.location} ${findings[0]!.message}`, 3);
  }
  const hasContracts = await isDirectory(contractsDir);
  if (!hasContracts) io.err('accord: no contracts folder found (pass --contracts <dir>): retries added to a step are reported as warnings, not checked against the contract');
  // Imported here: the contract source module reaches the storage layer, which diffing two OpenAPI files never needs.
  const { directorySource } = await import('../../matrix/sources.ts');
  const keyed = hasContracts ? await keyedOperations(await directorySource(path.resolve(contractsDir)), revision as FlowEntry) : undefined;
  return diffMatrixEntries(base as FlowEntry, revision as FlowEntry, keyed ? { keyed } : {});
}

/** Diffs two OpenAPI documents: Accord's rules, and openapi-diff's second opinion unless `secondOpinion` is false. */
async function diffDocuments(config: Config, base: unknown, revision: unknown, secondOpinion: boolean): Promise<DiffResult> {
  for (const [name, doc] of [['base', base], ['revision', revision]] as const) {
    const external = findExternalRefs(doc);
    if (external.length > 0) throw new CliFailure(`${name} has external $refs (never fetched): ${external[0]!.location}`, 3);
  }
  // openapi-diff starts first, in its worker thread, so it runs on another core while Accord's rules run here.
  const second = secondOpinion ? runOpenApiDiff(base, revision, { timeoutMs: config.openapiDiffTimeoutMs }) : undefined;
  const accord = diffContracts(base, revision);
  return second ? mergeOpenApiDiff(accord, await second) : accord;
}

/** What `accord diff` does (its help: src/cli/commands/diff.ts), loaded only when it runs. */
export const run: CommandRun = async ({ values, positionals }, { config, io }, command) => {
  const format = (values.format as string | undefined) ?? 'text';
  const failOn = (values['fail-on'] as string | undefined) ?? 'breaking';
  if (positionals.length !== 2) throw usageFailure(command);
  if (!(CLI_DIFF_FORMATS as readonly string[]).includes(format)) throw new CliFailure(`--format must be ${CLI_DIFF_FORMATS.slice(0, -1).join(', ')} or ${CLI_DIFF_FORMATS.at(-1)}`, 3);
  if (!['breaking', 'warning'].includes(failOn)) throw new CliFailure('--fail-on must be breaking or warning', 3);
  const [base, revision] = (await Promise.all(positionals.map((p) => loadDiffSide(config, p)))) as [DiffSide, DiffSide];
  // Without --contracts, the contracts/ folder next to the revision's control-matrix/ folder.
  const contractsDir = (values.contracts as string | undefined) ?? path.join(path.dirname(path.dirname(path.resolve(positionals[1]!))), 'contracts');
  const result =
    isMatrixEntry(base.doc) && isMatrixEntry(revision.doc) ? await diffEntries(base.doc, revision.doc, contractsDir, io) : await diffDocuments(config, base.doc, revision.doc, !values['no-openapi-diff']);
  const options = { title: `${positionals[0]} → ${positionals[1]}`, artifacts: { base: base.artifact, revision: revision.artifact }, ...(format === 'sarif' ? { toolVersion: accordVersion() } : {}) };
  io.out(renderDiff(result, format as CliDiffFormat, options).replace(/\n$/, ''));
  const failing = failOn === 'warning' ? result.summary.breaking + result.summary.warning : result.summary.breaking;
  return failing > 0 ? 1 : 0;
};
