import { defineConfig } from 'vitest/config';

/**
 * The suites that depend on storage run twice: on SQLite (project `sqlite`, every suite) and on
 * PostgreSQL (project `postgres`, these, each test service on a fresh database; see
 * test/harness.ts). Left out of `postgres`: suites about the SQLite file itself (backup and
 * restore, the upgrade fixture, WAL checkpoints, durability pragmas, tampering with the file,
 * a crash mid-write, rows only an old SQLite release could hold) and those with no storage.
 */
const POSTGRES_SUITES = [
  'test/abuse.test.ts',
  'test/abuse-replicas.test.ts',
  'test/accord-evidence.test.ts',
  'test/bounded-input.test.ts',
  'test/caches.test.ts',
  'test/certification.test.ts',
  'test/certification-lifecycle.test.ts',
  'test/change-control.test.ts',
  'test/change-control.e2e.test.ts',
  'test/change-inbox.test.ts',
  'test/cli.test.ts',
  'test/compensation-approvals.test.ts',
  'test/console-audit.test.ts',
  'test/console-change-privacy.test.ts',
  'test/console-changes.test.ts',
  'test/console-contracts.test.ts',
  'test/console-matrix.test.ts',
  'test/console-notices.test.ts',
  'test/console-session.test.ts',
  'test/contracts.test.ts',
  'test/headers.test.ts',
  'test/imports.test.ts',
  'test/incidents.test.ts',
  'test/lint.test.ts',
  'test/matrix-api.test.ts',
  'test/matrix-change-control.test.ts',
  'test/metrics-size.test.ts',
  'test/observability.test.ts',
  'test/ops-rollups.test.ts',
  'test/pagination.test.ts',
  'test/partner-credentials.test.ts',
  'test/partner-endpoints.test.ts',
  'test/partner-impact.test.ts',
  'test/prototype-keys.test.ts',
  'test/reference-network.test.ts',
  'test/runtime-lines.test.ts',
  'test/runtime.test.ts',
  'test/saga-inputs.test.ts',
  'test/saga.test.ts',
  'test/security.test.ts',
  'test/self-reference.test.ts',
  'test/separation-of-duties.test.ts',
  'test/sla-replicas.test.ts',
  'test/tokens.test.ts',
  'test/transaction-path.test.ts',
  'test/webhooks.test.ts',
];

export default defineConfig({
  test: {
    testTimeout: 60_000,
    hookTimeout: 60_000,
    pool: 'forks',
    // One PostgreSQL server for the whole run (a throwaway cluster, or ACCORD_TEST_DATABASE_URL).
    globalSetup: ['test/postgres-setup.ts'],
    // Every answer of a test service is checked against /openapi.json (test/conformance.ts).
    setupFiles: ['test/conformance-setup.ts'],
    projects: [
      { extends: true, test: { name: 'sqlite', include: ['test/**/*.test.ts', 'src/**/*.test.ts'] } },
      { extends: true, test: { name: 'postgres', include: POSTGRES_SUITES, env: { ACCORD_TEST_STORAGE: 'postgres' } } },
    ],
  },
});
