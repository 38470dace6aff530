// `node --require nsbox/preload`: sets the sandbox up in the process that will run the test code,
// before the libuv thread pool exists, so every thread the test starts lives inside it.
// Loaded without a sandbox config (e.g. inherited through fork()'s execArgv) it does nothing.
import { enterSandbox } from './enter.cjs';

enterSandbox();
