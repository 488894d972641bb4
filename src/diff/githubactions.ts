import { groupByOperation, verdictLine } from './by-operation.ts';
import { consequenceOf, type RuleLookup } from './consequence.ts';
import { changeLocator, type DiffArtifacts } from './lines.ts';
import type { DiffResult, Level } from './types.ts';

/**
 * GitHub Actions workflow commands (`::error file=…,line=…,col=…,title=…::message`) for a
 * diff: each finding once, as an annotation on the line of the revision document where the
 * change is (of the base document for what the revision removed), so a pull request shows
 * it beside the changed contract.
 */

const COMMAND: Record<Level, 'error' | 'warning' | 'notice'> = { breaking: 'error', warning: 'warning', info: 'notice' };
/** Operations an annotation names before "and N more" (a shared schema can reach hundreds). */
const MAX_OPERATIONS = 10;
const TITLE: Record<Level, string> = { breaking: 'Breaking change', warning: 'Change needs review', info: 'Compatible change' };

/** A command's message, escaped as the runner unescapes it: no line break can end the command early. */
export function escapeData(text: string): string {
  return text.replace(/%/g, '%25').replace(/\r/g, '%0D').replace(/\n/g, '%0A');
}

/** A command property's value, escaped: `,` and `:` would end the value. */
export function escapeProperty(text: string): string {
  return escapeData(text).replace(/:/g, '%3A').replace(/,/g, '%2C');
}

/** The file path as the runner matches it against the repository: forward slashes, no leading `./`. */
function filePath(uri: string): string {
  return uri.replace(/\\/g, '/').replace(/^(\.\/)+/, '');
}

/**
 * The annotations of a diff, one line each, then the verdict as a plain log line. Documents
 * without a text (registry refs) give annotations without a file; GitHub lists them on the run.
 */
export function toGitHubAnnotations(result: DiffResult, options: { artifacts?: DiffArtifacts; lookup?: RuleLookup } = {}): string {
  const locate = changeLocator(options.artifacts ?? {});
  const lines: string[] = [];
  for (const group of groupByOperation(result.changes)) {
    for (const f of group.findings) {
      const c = f.change;
      const site = locate(c);
      const props: string[] = [];
      if (site?.artifact.text !== undefined) {
        props.push(`file=${escapeProperty(filePath(site.artifact.uri))}`);
        if (site.position) props.push(`line=${site.position.line}`, `col=${site.position.column}`);
      }
      const where = f.operations.length === 0 ? '' : f.operations.length === 1 ? ` in ${f.operations[0]}` : ` in ${f.operations.length} operations`;
      const summary = group.kind === 'operation' && group.summary ? ` (${group.summary})` : '';
      props.push(`title=${escapeProperty(`${TITLE[c.level]}${where}${summary} [${c.rule}]`)}`);
      const more = f.operations.length - MAX_OPERATIONS;
      const affects = f.operations.length > 1 ? ` Affects ${f.operations.slice(0, MAX_OPERATIONS).join(', ')}${more > 0 ? ` and ${more} more` : ''}.` : '';
      lines.push(`::${COMMAND[c.level]} ${props.join(',')}::${escapeData(`${consequenceOf(c, options)} ${c.message}.${affects}`)}`);
    }
  }
  lines.push(verdictLine(result));
  return `${lines.join('\n')}\n`;
}
