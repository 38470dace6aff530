// Limits and per-file figures in the cgroup v2 guest (packages/core/test/uml/adapters.sh): a file that
// leaks under memoryMax and one that does not. NSBOX_E2E_MODE picks the runner's mode.
const base = require('./jest.config.cjs');

module.exports = {
  ...base,
  roots: ['<rootDir>/limits/jest'],
  collectCoverageFrom: undefined,
  maxWorkers: 1,
  testEnvironmentOptions: {
    nsbox: { memoryMax: '256M', mode: process.env.NSBOX_E2E_MODE, statsOver: {}, statsJson: process.env.NSBOX_E2E_STATS },
  },
};
