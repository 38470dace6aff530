// The DOM files (suite/tests-dom) in the environment NSBOX_E2E_DOM names (jsdom or happy-dom), under
// the pool NSBOX_E2E_POOL names: 'forks' and 'threads' (stock) or nsbox (default; its zygote mode).
import nsbox from 'vitest-pool-nsbox';
import base from './vitest.config.mjs';

const stock = ['forks', 'threads'].includes(process.env.NSBOX_E2E_POOL ?? '');
export default {
  ...base,
  test: {
    ...base.test,
    include: ['tests-dom/*.test.js'],
    environment: process.env.NSBOX_E2E_DOM ?? 'jsdom',
    pool: stock ? process.env.NSBOX_E2E_POOL : nsbox({ mode: process.env.NSBOX_E2E_MODE }),
    maxWorkers: 2,
  },
};
