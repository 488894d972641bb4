import { describeProblem } from './client.ts';

/** What `POST /v1/imports` answers (see src/imports/import.ts), as the CLI reads it. */
export interface ImportAnswer {
  dryRun: boolean;
  applied: boolean;
  files: Array<{
    path: string;
    kind: 'contract' | 'flow' | 'policy' | 'ruleset';
    name: string;
    version: string | number;
    action: 'created' | 'proposed' | 'unchanged';
    diff?: { against: string | number; bump: string; summary: { breaking: number; warning: number; info: number } };
    warnings?: unknown[];
  }>;
  totals: { files: number; created: number; proposed: number; unchanged: number };
}

type Action = ImportAnswer['files'][number]['action'];

/** The word of each outcome, as `accord import` has always printed them, and their dry-run forms. */
function word(action: Action, kind: string, dryRun: boolean): string {
  if (action === 'unchanged') return 'unchanged';
  if (action === 'proposed') return dryRun ? 'would propose' : 'proposed';
  if (kind === 'contract') return dryRun ? 'would register' : 'registered';
  return dryRun ? 'would store' : 'stored';
}

const plural = (n: number, what: string) => `${n} ${what}${n === 1 ? '' : 's'}`;

/** One line per file (in the order applied) and the totals: what `accord import` prints. */
export function importText(answer: ImportAnswer): string {
  const width = answer.dryRun ? 14 : 10;
  const lines = answer.files.map((f) => {
    const what = f.kind === 'contract' ? `${f.name}@${f.version}` : `control-matrix/${f.name} v${f.version}`;
    const against = f.diff ? (f.kind === 'contract' ? f.diff.against : `v${f.diff.against}`) : undefined;
    const diff = f.diff ? ` (against ${against}: ${plural(f.diff.summary.breaking, 'breaking change')}, ${plural(f.diff.summary.warning, 'warning')}, ${f.diff.summary.info} info; ${f.diff.bump})` : '';
    const warnings = f.warnings?.length ? ` [${plural(f.warnings.length, 'style warning')}]` : '';
    const review = f.action === 'proposed' ? ' awaiting review' : '';
    return `${word(f.action, f.kind, answer.dryRun).padEnd(width)} ${what}${review}${diff}${warnings}`;
  });
  const { created, proposed, unchanged } = answer.totals;
  const counts = `${created} ${answer.dryRun ? 'would be registered' : 'registered'}, ${proposed > 0 ? `${proposed} ${answer.dryRun ? 'would be proposed' : 'proposed'}, ` : ''}${unchanged} unchanged`;
  lines.push(answer.dryRun ? `Dry run: ${counts}; nothing was written.` : `${counts}.`);
  return lines.join('\n');
}

/** A refused import: the problem's detail, then every finding with its file. */
export function importRefusalText(status: number, body: unknown): string {
  const p = body as { title?: string; detail?: string; errors?: Array<{ path?: string; rule?: string; location: string; message: string }> } | null;
  if (!p?.errors?.some((e) => e.path)) return describeProblem(status, body);
  const lines = [`HTTP ${status} ${p.title ?? ''}: ${p.detail ?? ''}`];
  for (const e of p.errors) lines.push(`  ${e.path ?? '(import)'}${e.location ? ` ${e.location}` : ''}: ${e.rule ? `[${e.rule}] ` : ''}${e.message}`);
  return lines.join('\n');
}
