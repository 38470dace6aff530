// One file that fills its /tmp, in sandboxes whose /tmp is 1 MiB.
import { defineConfig } from 'vitest/config';
import nsbox from 'vitest-pool-nsbox';
import base from './vitest.config.mjs';

export default defineConfig({ ...base, test: { ...base.test, include: ['tests-shared/fill.test.js'], pool: nsbox({ tmpfsSize: '1m', mode: process.env.NSBOX_E2E_MODE }) } });
