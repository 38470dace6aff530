// The documented alternative for projects that already use a preset: environment plus runner.
const base = require('./jest.config.cjs');

const { preset, ...rest } = base;
module.exports = { ...rest, testEnvironment: 'nsbox', runner: 'jest-environment-nsbox/runner' };
