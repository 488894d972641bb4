import { accordVersion } from '../../lib/version.ts';
import path from 'node:path';
import { parseText, sha256 } from '../../contracts/document.ts';
import { AccordError } from '../../errors.ts';
import { oneLine } from '../../lib/text.ts';
import type { LintFinding } from '../../lint/findings.ts';
import { LayoutReader, type FilePlace } from '../../lint/layout.ts';
import { lintDocument, ruleDescriptions } from '../../lint/linter.ts';
import { usableRuleset } from '../../lint/check.ts';
import { defaultRuleset, RulesetError, type CompiledRuleset } from '../../lint/ruleset.ts';
import { toSarif } from '../../lint/sarif.ts';
import type { CommandRun, Io } from '../command.ts';
import { CliFailure, usageFailure } from '../errors.ts';
import { readInputFile } from '../files.ts';

const FORMATS = ['text', 'json', 'sarif'] as const;

/** One linted file as reported. */
interface FileReport {
  file: string;
  ruleset: string;
  /** partner/api@version when the file sits in a registry layout. */
  contract: string | null;
  olderVersion: boolean;
  findings: LintFinding[];
}

/** A ruleset file built (exit 3 with every finding when it does not load). */
async function rulesetFromFile(file: string): Promise<CompiledRuleset> {
  const text = await readInputFile(file);
  try {
    return await usableRuleset(sha256(text), path.relative(process.cwd(), file) || file, () => parseText(text, /\.json$/i.test(file) ? 'json' : 'yaml', { maxAliases: 100 }));
  } catch (error) {
    if (error instanceof RulesetError) throw new CliFailure(`${file} is not a usable ruleset:\n${error.findings.map((f) => oneLine(`  ${f.location || '/'} [${f.rule}] ${f.message}`)).join('\n')}`, 3);
    if (error instanceof AccordError) throw new CliFailure(`${file}: ${oneLine(error.message)}${error.errors?.[0] ? ` (${error.errors[0].location}: ${error.errors[0].message})` : ''}`, 3);
    throw error;
  }
}

/** The ruleset for a file: --ruleset, else its layout's control-matrix/ruleset.yaml, else spectral:oas. */
async function rulesetFor(place: FilePlace, explicit: CompiledRuleset | undefined): Promise<CompiledRuleset> {
  if (explicit) return explicit;
  if (place.root?.rulesetFile) return await rulesetFromFile(place.root.rulesetFile);
  return defaultRuleset();
}

function printText(reports: FileReport[], io: Io): void {
  for (const r of reports) {
    for (const f of r.findings) io.out(oneLine(`${r.file}:${f.line}:${f.column} ${f.severity} ${f.rule} ${f.message}`));
  }
  const count = (s: LintFinding['severity']) => reports.reduce((n, r) => n + r.findings.filter((f) => f.severity === s).length, 0);
  const rulesets = [...new Set(reports.map((r) => r.ruleset))].join(', ');
  io.out(`${reports.length} file${reports.length === 1 ? '' : 's'} linted with ${rulesets}: ${count('error')} errors, ${count('warning')} warnings, ${count('info') + count('hint')} notes.`);
}

/** What `accord lint` does (its help: src/cli/commands/lint.ts), loaded only when it runs. */
export const run: CommandRun = async ({ values, positionals }, { io }, command) => {
  const format = (values.format as string | undefined) ?? 'text';
  if (positionals.length === 0) throw usageFailure(command);
  if (!(FORMATS as readonly string[]).includes(format)) throw new CliFailure(`--format must be ${FORMATS.join(', ')}`, 3);
  const explicit = values.ruleset === undefined ? undefined : await rulesetFromFile(values.ruleset as string);
  const layouts = new LayoutReader();
  const reports: FileReport[] = [];
  const descriptions: Record<string, string> = {};
  const warned = new Set<string>();
  for (const file of positionals) {
    const text = await readInputFile(file);
    const place = await layouts.placeOf(file);
    for (const skipped of place.root?.skipped ?? []) if (!warned.has(skipped) && warned.add(skipped)) io.err(`accord: ${skipped} is not a control-matrix flow; its operations count as uncovered`);
    const ruleset = await rulesetFor(place, explicit);
    Object.assign(descriptions, ruleDescriptions(ruleset));
    const olderVersion = !values.strict && place.contract !== undefined && place.contract.version !== place.contract.newest;
    const findings = await lintDocument({
      text,
      format: /\.json$/i.test(file) ? 'json' : 'yaml',
      source: path.resolve(file),
      ruleset,
      coveredOperationIds: place.coveredOperationIds,
      errorsAsWarnings: olderVersion,
    });
    const c = place.contract;
    if (olderVersion && format === 'text') io.err(`accord: ${file} is older than ${c!.partner}/${c!.api}@${c!.newest}: its errors are reported as warnings (--strict: not)`);
    reports.push({ file, ruleset: ruleset.name, contract: c ? `${c.partner}/${c.api}@${c.version}` : null, olderVersion, findings });
  }
  const errors = reports.reduce((n, r) => n + r.findings.filter((f) => f.severity === 'error').length, 0);
  if (format === 'json') io.out(JSON.stringify({ valid: errors === 0, errors, files: reports }, null, 2));
  else if (format === 'sarif') io.out(JSON.stringify(toSarif(reports.map((r) => ({ uri: r.file.split(path.sep).join('/'), findings: r.findings })), descriptions, accordVersion()), null, 2));
  else printText(reports, io);
  return errors > 0 ? 1 : 0;
};
