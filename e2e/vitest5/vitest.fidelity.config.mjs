import { defineConfig } from 'vitest/config';
import nsbox from 'vitest-pool-nsbox';
import { fidelityConfig } from '../vitest-project.mjs';

export default defineConfig(fidelityConfig(nsbox));
