/** `make conformance`: the real reference files, outside `make test` (they are not in the repo). */
import base from './jest.config.js';

export default {
  testTimeout: 300000,
  maxWorkers: 1,
  projects: [{ ...base.projects[0], displayName: 'conformance', roots: ['<rootDir>/tests/conformance'] }],
};
