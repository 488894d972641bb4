import { defineConfig } from 'vitest/config';

export default defineConfig({
  test: {
    include: ['test/**/*.test.ts', 'src/**/*.test.ts'],
    testTimeout: 60_000,
    hookTimeout: 60_000,
    pool: 'forks',
    // One PostgreSQL server for the whole run (a throwaway cluster, or ACCORD_TEST_DATABASE_URL).
    globalSetup: ['test/postgres-setup.ts'],
  },
});
