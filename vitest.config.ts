import { defineConfig } from 'vitest/config';

// The repo's own suite. Every test drives real namespaces through the built packages.
export default defineConfig({
  test: {
    include: ['test/**/*.test.ts', 'packages/*/test/**/*.test.ts', 'e2e/test/**/*.test.ts', 'bench/test/**/*.test.ts'],
    pool: 'forks',
    testTimeout: 60_000,
    hookTimeout: 120_000,
    globalSetup: ['test/host-unchanged.ts'],
    reporters: ['default', './test/reliability-reporter.ts'],
  },
});
