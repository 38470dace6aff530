// The suite's Jest cases under Jest 29. The environment and runner are given as resolved paths
// because the suite directory (the rootDir) resolves Jest 30's copies.
const path = require('node:path');
const base = require('../suite/jest.config.cjs');

const { preset, ...rest } = base;
module.exports = {
  ...rest,
  rootDir: path.resolve(__dirname, '../suite'),
  testEnvironment: require.resolve('jest-environment-nsbox'),
  runner: require.resolve('jest-environment-nsbox/runner'),
};
