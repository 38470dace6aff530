// A CLI library's tests parse the test process's own argv with the parser's defaults.
import { createRequire } from 'node:module';

const require = createRequire(import.meta.url);
const { parseOwnArgv } = require('../lib/cli.cjs');
const { record } = require('../lib/observe.cjs');

test('the test process has no arguments of its own', async () => {
  expect(parseOwnArgv()).toEqual({});
  await record('argv');
});
