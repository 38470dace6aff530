// Run alone with --no-color.
const chalk = require('chalk');

test('plain output matches its snapshot', async () => {
  expect(chalk.red('failed')).toMatchSnapshot();
  await require('../lib/observe.cjs').record('nocolor');
});
