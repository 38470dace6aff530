// A file that runs for a minute: the e2e test kills Vitest's main process meanwhile.
import base from './vitest.config.mjs';

export default { ...base, test: { ...base.test, include: ['tests-shared/slow.test.js'] } };
