// `preset: 'jest-environment-nsbox'`: every test file in its own nsbox container.
module.exports = {
  testEnvironment: 'jest-environment-nsbox',
  runner: 'jest-environment-nsbox/runner',
};
