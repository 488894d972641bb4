import fs from 'node:fs/promises';
import { and, eq } from 'drizzle-orm';
import type { Deps } from '../deps.ts';
import type { OpenApiDocument } from '../contracts/document.ts';
import { findContractFiles } from '../contracts/files.ts';
import { loadContractDocument } from '../contracts/versions.ts';
import { contractVersions } from '../db/index.ts';
import { parseYaml } from '../lib/yaml.ts';
import type { ContractDoc, ContractSource } from './checks.ts';

/** Contracts as registered: the SQLite index says which versions exist, Git holds their text. */
export function registrySource(deps: Pick<Deps, 'db' | 'registry' | 'config'>): ContractSource {
  return {
    async versions(partner, api) {
      const rows = await deps.db
        .select()
        .from(contractVersions)
        .where(partner === '*' ? eq(contractVersions.api, api) : and(eq(contractVersions.partner, partner), eq(contractVersions.api, api)))
        .all();
      const out: ContractDoc[] = [];
      for (const row of rows) out.push({ partner: row.partner, api: row.api, version: row.version, doc: await loadContractDocument(deps, row) });
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
