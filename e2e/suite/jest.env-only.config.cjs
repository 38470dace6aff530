// The environment alone cannot move a file into a container: every file must fail with the fix.
const base = require('./jest.config.cjs');

const { preset, ...rest } = base;
module.exports = { ...rest, testEnvironment: 'nsbox' };
