// A CLI library starts Node subcommands with the parent's execArgv, and its tests assert their argv.
import { createRequire } from 'node:module';
import { fork } from 'node:child_process';

const require = createRequire(import.meta.url);
const { runSubcommand } = require('../lib/cli.cjs');
const { record } = require('../lib/observe.cjs');

test('a spawned Node subcommand gets exactly its arguments and the worker execArgv', async () => {
  const report = runSubcommand(['build', '--out', 'dist']);
  expect(report).toEqual({ argv: ['build', '--out', 'dist'], execArgv: process.execArgv, env: { ...process.env }, nsboxLoaded: false });
  await record('spawn');
});

test('a forked child inherits the execArgv, and nothing else', async () => {
  const child = fork(require.resolve('../lib/subcommand.cjs'), ['serve'], { stdio: ['ignore', 'ignore', 'inherit', 'ipc'] });
  let report: unknown;
  child.once('message', (message) => (report = message));
  await new Promise((resolve) => child.once('exit', resolve));
  expect(report).toEqual({ argv: ['serve'], execArgv: process.execArgv, env: { ...process.env }, nsboxLoaded: false });
});
