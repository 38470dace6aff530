// Run with --color=true: jest-worker passes colour to its workers through FORCE_COLOR.
const chalk = require('chalk');

test('colored output matches its snapshot', async () => {
  expect(chalk.red('failed')).toMatchSnapshot();
  await require('../lib/observe.cjs').record('color');
});
