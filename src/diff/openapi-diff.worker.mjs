// Runs openapi-diff on two documents inside a worker thread, so the caller can cap its time and
// memory (openapi-diff can run for minutes and gigabytes on large specs with cycles).
import { parentPort, workerData } from 'node:worker_threads';
import openapiDiff from 'openapi-diff';

const { base, revision } = workerData;
try {
  const outcome = await openapiDiff.diffSpecs({
    sourceSpec: { content: base, location: 'base.json', format: 'openapi3' },
    destinationSpec: { content: revision, location: 'revision.json', format: 'openapi3' },
  });
  const slim = (d) => ({
    type: d.type,
    code: d.code,
    action: d.action,
    source: d.source,
    locations: [...(d.sourceSpecEntityDetails ?? []), ...(d.destinationSpecEntityDetails ?? [])].map((e) => e.location),
  });
  parentPort.postMessage({
    status: 'ok',
    breaking: (outcome.breakingDifferences ?? []).map(slim),
    unclassified: outcome.unclassifiedDifferences.map(slim),
    nonBreaking: outcome.nonBreakingDifferences.length,
  });
} catch (error) {
  parentPort.postMessage({ status: 'failed', error: String(error?.message ?? error).slice(0, 500) });
}
