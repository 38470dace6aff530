// The same corpus, one nsbox sandbox per file. Resolved paths, so that Jest 29 (e2e/jest29) can use it too.
module.exports = {
  ...require('./jest.config.cjs'),
  testEnvironment: require.resolve('jest-environment-nsbox'),
  runner: require.resolve('jest-environment-nsbox/runner'),
};
