import { randomBytes } from 'node:crypto';
import fs from 'node:fs';
import path from 'node:path';
import type { Config } from '../config.ts';
import { AccordError } from '../errors.ts';

/** The key file's name inside the data dir, used when ACCORD_AUDIT_KEY is not set. */
export const AUDIT_KEY_FILE = 'audit.key';

/** The audit chain's key and where it came from. */
export interface AuditKey {
  key: Buffer;
  /** `ACCORD_AUDIT_KEY` or the key file's path. */
  source: string;
  /** True when this call created the key file. */
  created: boolean;
}

/** Path of the key file for a data dir. */
export function auditKeyFile(dataDir: string): string {
  return path.join(dataDir, AUDIT_KEY_FILE);
}

function readKeyFile(file: string): Buffer {
  const mode = fs.statSync(file).mode;
  // Like ssh with a private key: a key others may read (or replace) protects nothing.
  if ((mode & 0o077) !== 0) {
    throw new AccordError('unavailable', `${file} is accessible to group or others (mode ${(mode & 0o777).toString(8).padStart(4, '0')}); the audit key must be private: chmod 600 ${file}`);
  }
  const text = fs.readFileSync(file, 'utf8').trim();
  if (!/^(?:[0-9a-fA-F]{2}){32,}$/.test(text)) throw new AccordError('unavailable', `${file} does not hold a hex-encoded key of at least 32 bytes`);
  return Buffer.from(text, 'hex');
}

/** Writes 32 random bytes (hex) to `file` with mode 0600, durably, unless another process created it first. */
function createKeyFile(file: string): boolean {
  const temporary = `${file}.${process.pid}.tmp`;
  const fd = fs.openSync(temporary, 'w', 0o600);
  try {
    fs.writeSync(fd, `${randomBytes(32).toString('hex')}\n`);
    fs.fsyncSync(fd);
  } finally {
    fs.closeSync(fd);
  }
  try {
    // link() fails when the file exists: never overwrite a key, and never leave a half-written one.
    fs.linkSync(temporary, file);
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'EEXIST') return false;
    throw error;
  } finally {
    fs.rmSync(temporary, { force: true });
  }
  // Keyed entries are written right after: a power cut must not keep them and lose the key.
  const dir = fs.openSync(path.dirname(file), 'r');
  try {
    fs.fsyncSync(dir);
  } finally {
    fs.closeSync(dir);
  }
  return true;
}

/**
 * The key of the audit log's HMAC chain: `config.auditKey` (ACCORD_AUDIT_KEY) if set, else the
 * hex key in `<dataDir>/audit.key`. With `create`, a missing key file is created with 32 random
 * bytes and mode 0600; without it, a missing key is an error. A key file that group or others
 * may access is refused.
 */
export function loadAuditKey(config: Pick<Config, 'auditKey' | 'dataDir'>, options: { create: boolean }): AuditKey {
  if (config.auditKey) return { key: config.auditKey, source: 'ACCORD_AUDIT_KEY', created: false };
  const file = auditKeyFile(config.dataDir);
  let created = false;
  if (!fs.existsSync(file)) {
    if (!options.create) throw new AccordError('unavailable', `No audit key: ACCORD_AUDIT_KEY is not set and ${file} does not exist`);
    fs.mkdirSync(config.dataDir, { recursive: true });
    created = createKeyFile(file);
  }
  return { key: readKeyFile(file), source: file, created };
}
