/**
 * Jest runs the TypeScript sources directly (ts-jest, ESM); `make test` type-checks them first.
 * Two projects: `unit` needs no catalog; `catalog` does, and runs on the embedded catalog, or on
 * a Postgres server when MDW_TEST_DATABASE_URL is set (make test does both when one answers).
 */
const common = {
  testEnvironment: 'node',
  extensionsToTreatAsEsm: ['.ts'],
  moduleNameMapper: { '^(\\.{1,2}/.*)\\.js$': '$1' },
  transform: {
    '^.+\\.ts$': ['ts-jest', { useESM: true, tsconfig: 'tsconfig.test.json', diagnostics: false }],
  },
};

export default {
  // Generous: a machine other work loads can run a test several times slower than an idle one.
  // No test asserts a duration; a test that hangs fails here.
  testTimeout: 600000,
  maxWorkers: 2,
  projects: [
    { ...common, displayName: 'unit', roots: ['<rootDir>/tests/unit'], testMatch: ['**/*.test.ts'] },
    { ...common, displayName: 'catalog', roots: ['<rootDir>/tests/catalog'], testMatch: ['**/*.test.ts'] },
    // Kills, fuzzing, concurrency and hostile input: a sample in make test, all of it in make
    // reliability (MDW_RELIABILITY=full; see tests/support/reliability.ts).
    { ...common, displayName: 'reliability', roots: ['<rootDir>/tests/reliability'], testMatch: ['**/*.test.ts'] },
  ],
};
