import { createHash } from 'node:crypto';
import fs from 'node:fs';
import path from 'node:path';
import { PACKAGE_ROOT } from '../config.ts';

interface Asset {
  body: Buffer;
  type: string;
  /** The URL path: the name carries a hash of the content, so it can be cached for a year. */
  path: string;
}

const SOURCES: Record<string, { file: string; type: string }> = {
  'console.css': { file: path.join(PACKAGE_ROOT, 'src/web/assets/console.css'), type: 'text/css; charset=utf-8' },
};

let loaded: Map<string, Asset> | undefined;

function assets(): Map<string, Asset> {
  if (!loaded) {
    loaded = new Map();
    for (const [name, source] of Object.entries(SOURCES)) {
      const body = fs.readFileSync(source.file);
      const hash = createHash('sha256').update(body).digest('hex').slice(0, 12);
      const ext = path.extname(name);
      loaded.set(name, { body, type: source.type, path: `/console/assets/${path.basename(name, ext)}.${hash}${ext}` });
    }
  }
  return loaded;
}

/** The cache-busting URL path of a console asset (e.g. `console.css`). */
export function assetPath(name: string): string {
  const asset = assets().get(name);
  if (!asset) throw new Error(`No console asset ${name}`);
  return asset.path;
}

/** The asset served at a URL path, if any. */
export function assetAt(urlPath: string): Asset | undefined {
  for (const asset of assets().values()) if (asset.path === urlPath) return asset;
  return undefined;
}
