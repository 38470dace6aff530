// The corpus with a fresh Node per file's sandbox instead of forks of the warm zygote.
const base = require('./jest.nsbox.config.cjs');

module.exports = { ...base, testEnvironmentOptions: { nsbox: { mode: 'fresh' } } };
