// A bad pool option: Vitest must stop at config load with one clear line.
import { defineConfig } from 'vitest/config';
import nsbox from 'vitest-pool-nsbox';

export default defineConfig({ test: { pool: nsbox({ network: 'wifi' }) } });
