// Stock Jest on the same suite, to compare output with: no nsbox at all.
const base = require('./jest.config.cjs');

const { preset, testEnvironmentOptions, ...rest } = base;
module.exports = { ...rest, testEnvironment: 'node' };
