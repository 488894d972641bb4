import fs from 'node:fs';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { REPO_ROOT } from './harness.ts';

/**
 * The tree's shape (issue 14): no source file over 400 lines and no import cycle, type-only
 * imports included. A long file or a cycle fails.
 */
const MAX_LINES = 400;

function sourceFiles(dir = path.join(REPO_ROOT, 'src')): string[] {
  return fs.readdirSync(dir, { withFileTypes: true }).flatMap((entry) => {
    const full = path.join(dir, entry.name);
    if (entry.isDirectory()) return sourceFiles(full);
    return /\.(ts|tsx)$/.test(entry.name) ? [full] : [];
  });
}

const relative = (file: string) => path.relative(REPO_ROOT, file).split(path.sep).join('/');

/**
 * Imports and re-exports of a file, as repository paths — type-only ones too: a cycle of types
 * is still two modules that cannot be understood one without the other.
 */
function importsOf(file: string): string[] {
  const text = fs.readFileSync(file, 'utf8');
  const specifiers = [...text.matchAll(/^(?:import|export)\s+(?:[^'";]*?\sfrom\s+)?['"](\.[^'"]+)['"]/gm)].map((m) => m[1]!);
  return specifiers.map((s) => relative(path.resolve(path.dirname(file), s)));
}

/** Strongly connected components with more than one file (Tarjan). */
function cycles(graph: Map<string, string[]>): string[][] {
  let index = 0;
  const stack: string[] = [];
  const info = new Map<string, { index: number; low: number; onStack: boolean }>();
  const found: string[][] = [];
  const visit = (node: string) => {
    info.set(node, { index, low: index, onStack: true });
    index++;
    stack.push(node);
    for (const next of graph.get(node) ?? []) {
      if (!graph.has(next)) continue;
      if (!info.has(next)) {
        visit(next);
        info.get(node)!.low = Math.min(info.get(node)!.low, info.get(next)!.low);
      } else if (info.get(next)!.onStack) info.get(node)!.low = Math.min(info.get(node)!.low, info.get(next)!.index);
    }
    if (info.get(node)!.low === info.get(node)!.index) {
      const component: string[] = [];
      let member: string;
      do {
        member = stack.pop()!;
        info.get(member)!.onStack = false;
        component.push(member);
      } while (member !== node);
      if (component.length > 1) found.push(component.sort());
    }
  };
  for (const node of graph.keys()) if (!info.has(node)) visit(node);
  return found;
}

describe('the source tree', () => {
  const files = sourceFiles();

  it(`has no file over ${MAX_LINES} lines`, () => {
    const long = files.filter((f) => fs.readFileSync(f, 'utf8').split('\n').length - 1 > MAX_LINES).map(relative).sort();
    expect(long).toEqual([]);
  });

  it('has no import cycle', () => {
    const graph = new Map(files.map((f) => [relative(f), importsOf(f)]));
    expect(cycles(graph).map((c) => c.join(' ↔ '))).toEqual([]);
  });
});
