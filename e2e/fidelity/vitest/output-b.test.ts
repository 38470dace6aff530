// Writes 5 MB straight to stdout, then a marker: every line must reach the runner.
import { createRequire } from 'node:module';

const { writeLines } = createRequire(import.meta.url)('../lib/output.cjs');

test('writes 5 MB to stdout', () => {
  writeLines('b');
});
