// `node exec.cjs -- CMD ARGS...`: sets the sandbox up, then replaces itself with CMD, so a command that
// is not Node still gets every in-sandbox step done through the same code.
import fs = require('node:fs');
import { enterSandbox } from './enter.cjs';
import { which } from '../which.cjs';
import { F_SETFD, SIG_SETMASK, errnoName, sys } from './ffi.cjs';
import koffi = require('koffi');

const SIGPIPE = 13;
const SIGXFSZ = 25;


/** Undoes what Node did to the process that an exec'd command would otherwise inherit. */
function restoreExecState(): void {
  const libc = sys();
  // Node ignores SIGPIPE and SIGXFSZ; ignored signals survive exec (`yes | head` would never stop).
  libc.signal(SIGPIPE, null);
  libc.signal(SIGXFSZ, null);
  libc.sigprocmask(SIG_SETMASK, Buffer.alloc(128), null);
  // Node marks stdio close-on-exec.
  for (const fd of [0, 1, 2]) libc.fcntl(fd, F_SETFD, 'int', 0);
}

function main(): void {
  const separator = process.argv.indexOf('--');
  const [command, ...args] = process.argv.slice(separator + 1);
  if (!enterSandbox() || !command) {
    fs.writeSync(2, 'nsbox: exec.cjs is started by nsbox only\n');
    process.exit(125);
  }
  const resolved = which(command);
  if (!resolved) {
    fs.writeSync(2, `nsbox: ${command}: command not found in the sandbox (PATH=${process.env.PATH ?? ''})\n`);
    process.exit(127);
  }
  restoreExecState();
  const env = Object.entries(process.env).map(([k, v]) => `${k}=${v}`);
  sys().execve(resolved, [command, ...args, null], [...env, null]);
  const errno = errnoName(koffi.errno());
  fs.writeSync(2, `nsbox: cannot run ${command}: ${errno}\n`);
  process.exit(errno === 'ENOENT' ? 127 : 126);
}

main();
