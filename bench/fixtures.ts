import fs from 'node:fs';
import path from 'node:path';
import jsyaml from 'js-yaml';

const REFERENCE = path.resolve(import.meta.dirname, '../contracts/northwind-health/p2p-exchange/1.0.0/openapi.yaml');

/**
 * A realistic contract of about `targetBytes` of YAML: the reference member-exchange contract
 * with its paths and schemas replicated under numbered names until the size is reached.
 */
export function contractOfSize(targetBytes: number, version = '1.0.0'): string {
  const base = jsyaml.load(fs.readFileSync(REFERENCE, 'utf8')) as Record<string, any>;
  const doc = structuredClone(base);
  doc.info.version = version;
  for (let i = 1; jsyaml.dump(doc).length < targetBytes; i++) {
    for (const [p, item] of Object.entries(base.paths as Record<string, Record<string, any>>)) {
      const copy = JSON.parse(JSON.stringify(item).replace(/"operationId":"(\w+)"/g, `"operationId":"$1V${i}"`));
      doc.paths[`/v${i}${p}`] = copy;
    }
  }
  return jsyaml.dump(doc);
}
