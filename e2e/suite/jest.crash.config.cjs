// Files that kill their own process, next to one that must still pass.
const base = require('./jest.config.cjs');

module.exports = { ...base, roots: ['<rootDir>/jest-crash'] };
