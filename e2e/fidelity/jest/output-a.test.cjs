// Writes 5 MB straight to stdout, then a marker: every line must reach the runner.
const { writeLines } = require('../lib/output.cjs');

test('writes 5 MB to stdout', () => {
  writeLines('a');
});
