import fs from 'node:fs/promises';
import { and, eq } from 'drizzle-orm';
import type { Deps } from '../context.ts';
import type { OpenApiDocument } from '../contracts/document.ts';
import { findContractFiles } from '../contracts/import.ts';
import { contractPath } from '../contracts/versions.ts';
import { contractVersions } from '../db/index.ts';
import { parseYaml } from '../lib/yaml.ts';
import type { ContractDoc, ContractSource } from './checks.ts';

/** Parsed documents by sha256: versions are immutable, so a parse is valid forever. */
const parsedBySha = new Map<string, OpenApiDocument>();
const CACHE_LIMIT = 500;

/** Contracts as registered: the SQLite index says which versions exist, Git holds their text. */
export function registrySource(deps: Pick<Deps, 'db' | 'registry'>): ContractSource {
  return {
    async versions(partner, api) {
      const rows = deps.db
        .select()
        .from(contractVersions)
        .where(partner === '*' ? eq(contractVersions.api, api) : and(eq(contractVersions.partner, partner), eq(contractVersions.api, api)))
        .all();
      const out: ContractDoc[] = [];
      for (const row of rows) {
        let doc = parsedBySha.get(row.sha256);
        if (!doc) {
          doc = parseYaml(await deps.registry.read(row.commit, contractPath(row.partner, row.api, row.version)), { maxAliases: 0 }) as OpenApiDocument;
          if (parsedBySha.size >= CACHE_LIMIT) parsedBySha.delete(parsedBySha.keys().next().value!);
          parsedBySha.set(row.sha256, doc);
        }
        out.push({ partner: row.partner, api: row.api, version: row.version, doc });
      }
      return out;
    },
  };
}

/** Contracts in a folder of the registry layout (for offline `accord matrix validate`). */
export async function directorySource(dir: string): Promise<ContractSource> {
  const files = await findContractFiles(dir);
  const docs: ContractDoc[] = [];
  for (const f of files) {
    const text = await fs.readFile(f.file, 'utf8');
    const doc = (f.file.endsWith('.json') ? JSON.parse(text) : parseYaml(text, { maxAliases: 100 })) as OpenApiDocument;
    docs.push({ partner: f.partner, api: f.api, version: f.version, doc });
  }
  return {
    async versions(partner, api) {
      return docs.filter((d) => d.api === api && (partner === '*' || d.partner === partner));
    },
  };
}
