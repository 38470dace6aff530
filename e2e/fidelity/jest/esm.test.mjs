// Native ESM under Jest (node --experimental-vm-modules), with top-level await.
import { createRequire } from 'node:module';
import { clamp } from '../lib/math.cjs';

const require = createRequire(import.meta.url);
const facts = await require('../lib/observe.cjs').record('esm');

test('an ES module test file loads and runs', () => {
  expect(clamp(-1, 0, 3)).toBe(0);
  expect(facts.execArgv).toContain('--experimental-vm-modules');
});
