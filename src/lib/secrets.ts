import { createCipheriv, createDecipheriv, createHash, hkdfSync, randomBytes } from 'node:crypto';
import { AccordError } from '../errors.ts';

/**
 * Credentials Accord keeps to call partners (bearer tokens, private keys), sealed at rest with
 * AES-256-GCM under a key derived from ACCORD_SECRETS_KEY (HKDF-SHA256), shared by every replica.
 * A sealed value is `v1.<key id>.<iv>.<tag>.<ciphertext>` (base64url); it is bound to where it is
 * stored (`context`, e.g. "partner-endpoint:northwind-health:sandbox") as additional data, so a
 * value copied to another row does not open.
 */

const VERSION = 'v1';

/** The AES key and its id (the first 8 hex digits of its SHA-256: which key sealed a value). */
function derive(secretsKey: Buffer): { key: Buffer; id: string } {
  const key = Buffer.from(hkdfSync('sha256', secretsKey, Buffer.alloc(0), 'accord secrets v1', 32));
  return { key, id: createHash('sha256').update(key).digest('hex').slice(0, 8) };
}

/** Seals `plaintext` for storage at `context`. */
export function sealSecret(secretsKey: Buffer, plaintext: string, context: string): string {
  const { key, id } = derive(secretsKey);
  const iv = randomBytes(12);
  const cipher = createCipheriv('aes-256-gcm', key, iv);
  cipher.setAAD(Buffer.from(context, 'utf8'));
  const data = Buffer.concat([cipher.update(plaintext, 'utf8'), cipher.final()]);
  return [VERSION, id, iv.toString('base64url'), cipher.getAuthTag().toString('base64url'), data.toString('base64url')].join('.');
}

/** Opens a value sealed for `context`; throws when the key differs or the value was altered or moved. */
export function openSecret(secretsKey: Buffer, sealed: string, context: string): string {
  const { key, id } = derive(secretsKey);
  const [version, keyId, iv, tag, data] = sealed.split('.');
  if (version !== VERSION || !keyId || !iv || !tag || data === undefined) throw new AccordError('unavailable', `The stored credential of ${context} is not a sealed value`);
  if (keyId !== id) throw new AccordError('unavailable', `The stored credential of ${context} was sealed with another ACCORD_SECRETS_KEY (key ${keyId}; this server's is ${id}): set the key it was stored with, or store the credential again`);
  try {
    const decipher = createDecipheriv('aes-256-gcm', key, Buffer.from(iv, 'base64url'));
    decipher.setAAD(Buffer.from(context, 'utf8'));
    decipher.setAuthTag(Buffer.from(tag, 'base64url'));
    return Buffer.concat([decipher.update(Buffer.from(data, 'base64url')), decipher.final()]).toString('utf8');
  } catch {
    throw new AccordError('unavailable', `The stored credential of ${context} does not open: it was altered or belongs to another row`);
  }
}
