import { defineConfig } from 'vitest/config';
import nsbox from 'vitest-pool-nsbox';
import { suiteConfig } from '../vitest-project.mjs';

export default defineConfig(suiteConfig(nsbox));
