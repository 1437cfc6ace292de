/** Jest runs the TypeScript sources directly (ts-jest, ESM). `make test` type-checks separately. */
export default {
  testEnvironment: 'node',
  roots: ['<rootDir>/tests'],
  testMatch: ['**/*.test.ts'],
  extensionsToTreatAsEsm: ['.ts'],
  moduleNameMapper: { '^(\\.{1,2}/.*)\\.js$': '$1' },
  transform: {
    '^.+\\.ts$': ['ts-jest', { useESM: true, tsconfig: 'tsconfig.test.json', isolatedModules: true, diagnostics: false }],
  },
  testTimeout: 120000,
  maxWorkers: 2,
};
