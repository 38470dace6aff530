// A DOM library's shape under Jest 29: two projects, one in jest-environment-jsdom and one in node,
// each with nsbox's runner line and nothing else changed (as a user adds it). The jsdom files build
// and drop large documents, so their forked processes go through full garbage collections.
const path = require('node:path');

// NSBOX_E2E_STOCK=1: the same projects with Jest's own runner, the baseline.
const runner = process.env.NSBOX_E2E_STOCK ? undefined : require.resolve('jest-environment-nsbox/runner');
const nsbox = { nsbox: { ...(process.env.NSBOX_E2E_MODE ? { mode: process.env.NSBOX_E2E_MODE } : {}), timeout: 120_000 } };
module.exports = {
  projects: [
    { displayName: 'dom', rootDir: __dirname, testMatch: ['<rootDir>/tests-dom/*.test.js'], testEnvironment: 'jsdom', testEnvironmentOptions: nsbox, ...(runner ? { runner } : {}) },
    { displayName: 'node', rootDir: __dirname, testMatch: ['<rootDir>/tests-node/*.test.js'], testEnvironment: 'node', testEnvironmentOptions: nsbox, ...(runner ? { runner } : {}) },
  ],
  rootDir: path.resolve(__dirname),
};
