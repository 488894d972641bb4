import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { findVersion } from '../src/contracts/versions.ts';
import { invalidBodies, otherValidBody, requestBody, seededRandom, validBody, validVariants } from '../src/certification/inputs.ts';
import { planSuite } from '../src/certification/suite.ts';
import { currentFlows } from '../src/matrix/store.ts';
import { versionRoutes, type Route } from '../src/runtime/route-table.ts';
import { startTestService, type TestService } from './harness.ts';

/** The inputs a certification sends are drawn from the contract with a seed: repeatable, and valid (or invalid) as claimed. */
describe('certification inputs', () => {
  let s: TestService;
  let routes: Route[];
  beforeAll(async () => {
    s = await startTestService({ seed: true });
    const version = (await findVersion(s.deps, 'northwind-health', 'p2p-exchange', '2.1.0'))!;
    routes = await versionRoutes(s.deps, version, (await currentFlows(s.deps)).map((f) => f.entry));
  });
  afterAll(async () => await s.cleanup());

  const withBodies = () => routes.filter((r) => requestBody(r)?.example !== undefined);

  it('draws the same variants from the same seed and other ones from another seed; each valid variant passes the contract’s schema, each invalid body fails it', () => {
    const draw = (seed: number) => withBodies().map((r) => validVariants(r, requestBody(r)!.media, requestBody(r)!.example, seededRandom(seed), 2));
    expect(JSON.stringify(draw(7))).toBe(JSON.stringify(draw(7)));
    expect(JSON.stringify(draw(7))).not.toBe(JSON.stringify(draw(8)));
    expect(withBodies().length).toBeGreaterThanOrEqual(5);
    for (const route of withBodies()) {
      const { media, example } = requestBody(route)!;
      expect(validBody(route, media, example)).toBe(true);
      const variants = validVariants(route, media, example, seededRandom(1), 2);
      expect(variants.length).toBeGreaterThan(0);
      for (const body of variants) {
        expect(validBody(route, media, body)).toBe(true);
        expect(body).not.toEqual(example);
      }
      const invalid = invalidBodies(route, media, example);
      expect(invalid.length).toBeGreaterThan(0);
      for (const { body } of invalid) expect(validBody(route, media, body)).toBe(false);
    }
  });

  it('changes another payload inside the flow’s fingerprint pointers only (what makes a used key answer 422)', () => {
    const ack = routes.find((r) => r.op.operationId === 'acknowledgeReceipt')!;
    const { media, example } = requestBody(ack)!;
    const other = otherValidBody(ack, media, example, seededRandom(1), ['/exportJobId', '/memberId', '/status']) as Record<string, unknown>;
    const changed = Object.keys(example as object).filter((k) => JSON.stringify(other[k]) !== JSON.stringify((example as Record<string, unknown>)[k]));
    expect(changed).toHaveLength(1);
    expect(['exportJobId', 'memberId', 'status']).toContain(changed[0]);
  });

  it('plans the same suite for the same seed: the same cases in the same order', () => {
    const ids = (seed: number) => planSuite(routes, seed).flatMap((g) => g.cases.map((c) => c.id));
    expect(ids(1)).toEqual(ids(1));
    expect(ids(1).length).toBeGreaterThan(50);
    expect(new Set(ids(1)).size).toBe(ids(1).length);
  });
});
