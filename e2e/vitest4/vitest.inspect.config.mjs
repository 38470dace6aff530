// One file that waits to be looked at with `nsbox ps` and `nsbox exec` (e2e/test/inspect.test.ts).
import { defineConfig } from 'vitest/config';
import nsbox from 'vitest-pool-nsbox';
import { suiteConfig } from '../vitest-project.mjs';

const base = suiteConfig(nsbox);
const keepOnFailure = process.env.NSBOX_E2E_KEEP;
export default defineConfig({
  test: { ...base.test, include: ['tests-shared/inspect.test.js'], pool: nsbox({
      network: 'loopback',
      keepOnFailure,
      mode: process.env.NSBOX_E2E_MODE,
      timeout: process.env.NSBOX_E2E_TIMEOUT ? Number(process.env.NSBOX_E2E_TIMEOUT) : undefined,
    }) },
});
