// `node --require nsbox/preload`: sets the sandbox up in the process that will run the test code,
// before the libuv thread pool exists, so every thread the test starts lives inside it. Then it
// removes every trace of itself that the test could see or pass on: its `--require` from
// process.execArgv (which child_process.fork hands to the test's own Node children), and its
// modules from require.cache. Node runs preloads in worker threads too: there it only hides itself.
import { isMainThread } from 'node:worker_threads';
import { CONFIG_ENV } from '../protocol.cjs';

function hideFromExecArgv(): void {
  for (let i = process.execArgv.length - 2; i >= 0; i--) {
    const flag = process.execArgv[i];
    if ((flag === '--require' || flag === '-r') && process.execArgv[i + 1] === __filename) process.execArgv.splice(i, 2);
  }
}

hideFromExecArgv();
if (isMainThread && process.env[CONFIG_ENV] !== undefined) {
  const before = new Set(Object.keys(require.cache));
  require('./enter.cjs').enterSandbox();
  for (const file of Object.keys(require.cache)) if (!before.has(file)) delete require.cache[file];
}
for (const file of [__filename, require.resolve('../protocol.cjs')]) delete require.cache[file];
