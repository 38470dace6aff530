// One file that records where it ran (the hostname it saw): the platform e2e test reads it.
import base from './vitest.config.mjs';

export default { ...base, test: { ...base.test, include: ['tests-shared/where-1.test.js'] } };
