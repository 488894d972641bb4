import path from 'node:path';
import { parseText } from '../../contracts/document.ts';
import { AccordError } from '../../errors.ts';
import { oneLine } from '../../lib/text.ts';
import { checkRuleset } from '../../lint/check.ts';
import { checkFlow, checkPolicy, type Finding } from '../../matrix/checks.ts';
import { findMatrixFiles } from '../../matrix/files.ts';
import { directorySource } from '../../matrix/sources.ts';
import { CliFailure, usageFailure } from '../errors.ts';
import { isDirectory, readInputFile } from '../files.ts';
import type { CommandRun } from '../command.ts';

/** What `accord matrix validate` does (its help: src/cli/commands/matrix-validate.ts), loaded only when it runs. */
export const run: CommandRun = async ({ values, positionals }, { io }, command) => {
  const target = positionals[0];
  if (!target || positionals.length > 1) throw usageFailure(command);
  const files = await findMatrixFiles(path.resolve(target), { anyFolder: true });
  if (files.length === 0) throw new CliFailure(`No control-matrix .yaml or .json files at ${target}`, 3);
  let contractsDir = values.contracts as string | undefined;
  if (contractsDir === undefined) {
    const matrixDir = path.dirname(files[0]!.file);
    const guess = path.join(path.basename(matrixDir) === 'control-matrix' ? path.dirname(matrixDir) : matrixDir, 'contracts');
    if (await isDirectory(guess)) contractsDir = guess;
  } else if (!(await isDirectory(contractsDir))) {
    throw new CliFailure(`--contracts ${contractsDir} is not a folder`, 3);
  }
  if (!contractsDir && !values['no-contracts']) throw new CliFailure('No contracts/ folder next to the control matrix: pass --contracts <dir>, or --no-contracts to run only the checks that need no contracts', 3);
  const source = contractsDir && !values['no-contracts'] ? await directorySource(path.resolve(contractsDir)) : undefined;
  if (!source) io.err('accord: contract cross-checks skipped (--no-contracts)');
  const report: Array<{ file: string; findings: Finding[] }> = [];
  for (const f of files) {
    const text = await readInputFile(f.file);
    let findings: Finding[];
    try {
      const data = parseText(text, f.file.endsWith('.json') ? 'json' : 'yaml', { maxAliases: 100 });
      findings = f.kind === 'policy' ? checkPolicy(data) : f.kind === 'ruleset' ? await checkRuleset(data) : await checkFlow(data, source, f.name);
    } catch (error) {
      if (!(error instanceof AccordError)) throw error;
      findings = (error.errors ?? [{ location: '', message: error.message }]).map((e) => ({ rule: 'matrix/parse', location: e.location, message: e.message }));
    }
    report.push({ file: path.relative(process.cwd(), f.file) || f.file, findings });
  }
  const count = report.reduce((n, r) => n + r.findings.length, 0);
  if (values.json) io.out(JSON.stringify({ valid: count === 0, files: report }, null, 2));
  else {
    for (const r of report) {
      if (r.findings.length === 0) io.out(`ok    ${r.file}`);
      for (const f of r.findings) io.out(oneLine(`error ${r.file} ${f.location || '/'} [${f.rule}] ${f.message}`));
    }
    io.out(`${report.length} file${report.length === 1 ? '' : 's'} checked, ${count} finding${count === 1 ? '' : 's'}.`);
  }
  return count === 0 ? 0 : 1;
};
