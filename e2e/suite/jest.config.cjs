// The suite under Jest 30, one nsbox container per file, through the preset.
module.exports = {
  rootDir: __dirname,
  roots: ['<rootDir>/jest-tests', '<rootDir>/lib'],
  testMatch: ['**/*.test.cjs'],
  preset: 'jest-environment-nsbox',
  // The e2e tests choose the mode (default: the adapter's own, 'zygote').
  testEnvironmentOptions: { nsbox: { network: 'loopback', ...(process.env.NSBOX_E2E_MODE ? { mode: process.env.NSBOX_E2E_MODE } : {}) } },
  // The isolation files wait for each other to hold the same port at once: run them side by side.
  maxWorkers: 3,
  collectCoverageFrom: ['lib/math.cjs'],
};
