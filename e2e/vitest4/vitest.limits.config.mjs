// Limits and per-file figures in the cgroup v2 guest (packages/core/test/uml/adapters.sh): a file that
// leaks under memoryMax and one that does not. NSBOX_E2E_MODE picks the pool's mode.
import path from 'node:path';
import { defineConfig } from 'vitest/config';
import nsbox from 'vitest-pool-nsbox';

export default defineConfig({
  cacheDir: path.join(process.env.TMPDIR ?? '/tmp', 'nsbox-vitest-limits-cache'),
  test: {
    root: path.resolve(import.meta.dirname, '../suite/limits/vitest'),
    include: ['*.test.js'],
    globals: true,
    maxWorkers: 1,
    pool: nsbox({ memoryMax: '256M', mode: process.env.NSBOX_E2E_MODE, statsOver: {}, statsJson: process.env.NSBOX_E2E_STATS }),
  },
});
