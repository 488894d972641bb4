import fs from 'node:fs/promises';
import path from 'node:path';
import semver from 'semver';
import { parseText } from '../contracts/document.ts';
import { findContractFiles } from '../contracts/files.ts';
import type { FlowEntry } from '../matrix/checks.ts';
import { findMatrixFiles } from '../matrix/files.ts';
import { coveredOperationIds } from './coverage.ts';

/**
 * What offline lint learns from a file's place in a registry-layout folder (the folder holding
 * `control-matrix/` and `contracts/`): the ruleset file, the flows, which partner/api/version
 * the file is and whether a newer version of that API sits next to it.
 */

/** A registry-layout folder, read once per lint run. */
export interface LayoutRoot {
  dir: string;
  /** control-matrix/ruleset.yaml (or .yml/.json), when present. */
  rulesetFile: string | undefined;
  flows: FlowEntry[];
  /** Control-matrix files that could not be read as flows (reported, then ignored). */
  skipped: string[];
}

/** Where a linted file sits in its layout, and what follows from it. */
export interface FilePlace {
  root: LayoutRoot | undefined;
  /** Set when the file is contracts/<partner>/<api>/<version>/openapi.* under the root. */
  contract: { partner: string; api: string; version: string; newest: string } | undefined;
  coveredOperationIds: Set<string>;
}

const isObject = (v: unknown): v is Record<string, unknown> => typeof v === 'object' && v !== null && !Array.isArray(v);
const looksLikeFlow = (v: unknown): v is FlowEntry =>
  isObject(v) && isObject(v.contract) && typeof v.contract.partner === 'string' && typeof v.contract.api === 'string' && typeof v.contract.versions === 'string' && Array.isArray(v.steps) && v.steps.every((s) => isObject(s) && typeof s.operationId === 'string' && isObject(s.compensation));

/** The nearest folder at or above `start` that holds a `control-matrix/` folder. */
async function findRootDir(start: string): Promise<string | undefined> {
  for (let dir = path.resolve(start); ; dir = path.dirname(dir)) {
    if (await fs.stat(path.join(dir, 'control-matrix')).then((s) => s.isDirectory(), () => false)) return dir;
    if (path.dirname(dir) === dir) return undefined;
  }
}

async function readRoot(dir: string): Promise<LayoutRoot> {
  const files = await findMatrixFiles(dir);
  const flows: FlowEntry[] = [];
  const skipped: string[] = [];
  for (const f of files.filter((x) => x.kind === 'flow')) {
    try {
      const data = parseText(await fs.readFile(f.file, 'utf8'), f.file.endsWith('.json') ? 'json' : 'yaml', { maxAliases: 100 });
      if (looksLikeFlow(data) && semver.validRange(data.contract.versions)) flows.push(data);
      else skipped.push(f.file);
    } catch {
      skipped.push(f.file);
    }
  }
  return { dir, rulesetFile: files.find((f) => f.kind === 'ruleset')?.file, flows, skipped };
}

/** Finds and reads layout roots, each once. */
export class LayoutReader {
  private readonly roots = new Map<string, Promise<LayoutRoot>>();

  /** The place of `file` in its layout (no root: no flows, no ruleset file, not a registered contract). */
  async placeOf(file: string): Promise<FilePlace> {
    const rootDir = await findRootDir(path.dirname(path.resolve(file)));
    if (!rootDir) return { root: undefined, contract: undefined, coveredOperationIds: new Set() };
    if (!this.roots.has(rootDir)) this.roots.set(rootDir, readRoot(rootDir));
    const root = await this.roots.get(rootDir)!;
    const parts = path.relative(rootDir, path.resolve(file)).split(path.sep);
    const [top, partner, api, version, name] = parts;
    if (parts.length !== 5 || top !== 'contracts' || !/^openapi\.(ya?ml|json)$/i.test(name!) || !semver.valid(version) || semver.clean(version!) !== version) {
      return { root, contract: undefined, coveredOperationIds: new Set() };
    }
    const siblings = (await findContractFiles(rootDir)).filter((f) => f.partner === partner && f.api === api && semver.valid(f.version)).map((f) => f.version);
    const newest = [version!, ...siblings].reduce((a, b) => (semver.gt(b, a) ? b : a));
    return { root, contract: { partner: partner!, api: api!, version: version!, newest }, coveredOperationIds: coveredOperationIds(root.flows, partner!, api!, version!) };
  }
}
