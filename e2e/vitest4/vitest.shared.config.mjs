// isolate: false, as Vitest documents it: one sandbox per worker, reused by that worker's files.
import base from './vitest.config.mjs';

export default { ...base, test: { ...base.test, include: ['tests-shared/where-*.test.js'], isolate: false, maxWorkers: 1 } };
