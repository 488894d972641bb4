import path from 'node:path';
import { auditKeyFile } from './audit/key.ts';

/** Where the parts of a data dir (ACCORD_DATA_DIR) live: the server, the CLI and backups read this one layout. */
export function dataDirLayout(dataDir: string): { database: string; registry: string; auditKey: string } {
  return { database: path.join(dataDir, 'accord.db'), registry: path.join(dataDir, 'registry'), auditKey: auditKeyFile(dataDir) };
}
