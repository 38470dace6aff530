import path from 'node:path';
import { defineConfig } from 'vitest/config';
import nsbox from 'vitest-pool-nsbox';

const suite = path.resolve(import.meta.dirname, '../suite');

export default defineConfig({
  test: {
    root: suite,
    include: ['tests/**/*.test.js'],
    globals: true,
    pool: nsbox({
      network: 'loopback',
      onUnsupported: process.env.NSBOX_E2E_ON_UNSUPPORTED,
      timeout: process.env.NSBOX_E2E_TIMEOUT ? Number(process.env.NSBOX_E2E_TIMEOUT) : undefined,
    }),
    // The isolation files wait for each other to hold the same port at once: run them side by side.
    maxWorkers: 3,
    env: { NSBOX_E2E_RESULTS: process.env.NSBOX_E2E_RESULTS ?? path.join(suite, '.results') },
    coverage: { provider: 'v8', include: ['lib/math.cjs'], reporter: ['json-summary', 'text'] },
  },
});
