// Draws the examples of Accord's own API document from real answers: a test run with
// ACCORD_CONFORMANCE_SAMPLES=<file> (test/conformance.ts) appends the first conforming request and
// response body of each operation, status and media type; this script picks one per key (the
// reference network's over a test's own names, then the shortest), shortens long lists and texts,
// keeps it only if it is still valid against the document, and writes src/http/examples.json.
//   ACCORD_CONFORMANCE_SAMPLES=/tmp/samples.jsonl npx vitest run --project sqlite
//   npx tsx scripts/api-examples.mts /tmp/samples.jsonl
import fs from 'node:fs';
import path from 'node:path';
import { ACCORD_API_DOCUMENT } from '../src/http/api.ts';
import { newAjv2020 } from '../src/lib/ajv.ts';

interface Sample {
  kind: 'request' | 'response';
  operation: string;
  status: number;
  mediaType: string;
  body: unknown;
}

const file = process.argv[2];
if (!file) throw new Error('usage: tsx scripts/api-examples.mts <samples.jsonl>');
const samples = fs
  .readFileSync(file, 'utf8')
  .split('\n')
  .filter(Boolean)
  .map((line) => JSON.parse(line) as Sample);

const REFERENCE = /northwind-health|bluestem-mutual|member-match|payer-data-export/;

/** How far a sample is shortened: items per list, characters per string, keys per nested object. */
interface Cut {
  items: number;
  chars: number;
  keys: number;
}
const CUTS: Cut[] = [
  { items: 2, chars: 600, keys: Infinity },
  { items: 1, chars: 200, keys: 6 },
];
/** An example this long is cut harder when it stays valid. */
const LONG = 6000;

function shorten(value: unknown, cut: Cut, depth = 0): unknown {
  if (Array.isArray(value)) return value.slice(0, cut.items).map((v) => shorten(v, cut, depth + 1));
  if (value && typeof value === 'object') {
    const entries = Object.entries(value);
    return Object.fromEntries((depth > 0 ? entries.slice(0, cut.keys) : entries).map(([k, v]) => [k, shorten(v, cut, depth + 1)]));
  }
  if (typeof value === 'string' && value.length > cut.chars) return `${value.slice(0, cut.chars - 1)}…`;
  return value;
}

const doc = ACCORD_API_DOCUMENT as unknown as { paths: Record<string, Record<string, any>>; components: { schemas: Record<string, unknown> } };
const defs = JSON.parse(JSON.stringify(doc.components.schemas).replaceAll('"#/components/schemas/', '"#/$defs/'));
const ajv = newAjv2020({ strict: false }, true);
ajv.addKeyword({ keyword: 'example' });

function schemaOf(sample: Sample): unknown {
  const [method, template] = sample.operation.split(' ') as [string, string];
  const op = doc.paths[template]?.[method.toLowerCase()];
  const media = sample.kind === 'request' ? op?.requestBody?.content?.['application/json'] : op?.responses?.[String(sample.status)]?.content?.[sample.mediaType];
  return media?.schema;
}

const chosen = new Map<string, unknown>();
const candidates = new Map<string, Sample[]>();
for (const sample of samples) {
  const key = sample.kind === 'request' ? `${sample.operation} request` : `${sample.operation} ${sample.status} ${sample.mediaType}`;
  candidates.set(key, [...(candidates.get(key) ?? []), sample]);
}
for (const [key, list] of [...candidates].sort(([a], [b]) => a.localeCompare(b))) {
  const ranked = list
    .map((sample) => ({ sample, text: JSON.stringify(sample.body) }))
    .sort((a, b) => Number(REFERENCE.test(b.text)) - Number(REFERENCE.test(a.text)) || a.text.length - b.text.length);
  for (const { sample } of ranked) {
    const schema = schemaOf(sample);
    if (schema === undefined) continue;
    const validate = ajv.compile({ ...JSON.parse(JSON.stringify(schema).replaceAll('"#/components/schemas/', '"#/$defs/')), $defs: defs });
    // An example holding a `$ref` (an OpenAPI document as data) would be resolved by tools reading the document.
    if (JSON.stringify(sample.body).includes('"$ref"')) continue;
    const valid = CUTS.map((cut) => shorten(sample.body, cut)).filter((example) => validate(example));
    const example = valid.find((e) => JSON.stringify(e).length <= LONG) ?? valid.at(-1);
    if (example === undefined) continue;
    chosen.set(key, example);
    break;
  }
}

// Keyed "METHOD /template request" or "METHOD /template status media-type"; kept by hand from then on (the
// Spectral test checks each against its schema, test/openapi-document.test.ts).
const out = path.join(import.meta.dirname, '../src/http/examples.json');
const existing = fs.existsSync(out) ? (JSON.parse(fs.readFileSync(out, 'utf8')) as Record<string, unknown>) : {};
const merged = Object.fromEntries(Object.entries({ ...Object.fromEntries(chosen), ...existing }).sort(([a], [b]) => a.localeCompare(b)));
fs.writeFileSync(out, `${JSON.stringify(merged, null, 2)}\n`);
console.log(`${chosen.size} examples of ${candidates.size} sampled keys (existing ones kept) → ${path.relative(process.cwd(), out)}`);
