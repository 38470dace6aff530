// A Node subcommand as CLI libraries start them: it reports what it was started with, and whether any
// of nsbox (its modules, koffi's native library) came along.
const fs = require('node:fs');
const report = {
  argv: process.argv.slice(2),
  execArgv: process.execArgv,
  env: process.env,
  nsboxLoaded: Object.keys(require.cache).some((f) => /nsbox[\\/](dist|build)|koffi/.test(f)) || /koffi/.test(fs.readFileSync('/proc/self/maps', 'utf8')),
};
if (process.send) process.send(report, () => process.disconnect());
else process.stdout.write(JSON.stringify(report));
