// A CLI library starts Node subcommands with the parent's execArgv, and its tests assert their argv.
const { fork } = require('node:child_process');
const path = require('node:path');
const { runSubcommand } = require('../lib/cli.cjs');
const { record } = require('../lib/observe.cjs');

test('a spawned Node subcommand gets exactly its arguments and the test process execArgv', async () => {
  const report = runSubcommand(['build', '--out', 'dist']);
  expect(report).toEqual({ argv: ['build', '--out', 'dist'], execArgv: process.execArgv, env: { ...process.env }, nsboxLoaded: false });
  await record('spawn');
});

test('a forked child inherits the execArgv, and nothing else', async () => {
  const child = fork(path.join(__dirname, '../lib/subcommand.cjs'), ['serve'], { stdio: ['ignore', 'ignore', 'inherit', 'ipc'] });
  let report;
  child.once('message', (message) => (report = message));
  await new Promise((resolve) => child.once('exit', resolve));
  expect(report).toEqual({ argv: ['serve'], execArgv: process.execArgv, env: { ...process.env }, nsboxLoaded: false });
});
