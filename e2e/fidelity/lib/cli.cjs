// A small CLI library of the kind real suites test: it parses process.argv with the parser's defaults
// (unknown options and positionals are errors, which such libraries turn into process.exit(1)), and it
// starts Node subcommands with the arguments it was given.
const { parseArgs } = require('node:util');
const { execFileSync } = require('node:child_process');
const path = require('node:path');

function parseOwnArgv() {
  return parseArgs({ options: { verbose: { type: 'boolean', short: 'v' } }, strict: true }).values;
}

function runSubcommand(args) {
  const out = execFileSync(process.execPath, [...process.execArgv, path.join(__dirname, 'subcommand.cjs'), ...args], { encoding: 'utf8' });
  return JSON.parse(out);
}

module.exports = { parseOwnArgv, runSubcommand };
