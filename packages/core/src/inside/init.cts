// PID 1 of a sandbox forked from a zygote: the duties of stage 0's sh init, in the forked Node process
// itself (no exec, so no second Node start). It only makes blocking kernel calls and never runs the
// event loop it inherited. Signals sent from inside the sandbox do not reach it (the kernel drops
// signals to a namespace's init that has no handler for them); SIGKILL from the host does.
import fs = require('node:fs');
import koffi = require('koffi');
import { EINTR, exitNow, sys } from './ffi.cjs';

/** The exit status as a shell reports it: the code, or 128+N for signal N. */
export function shellStatus(raw: number): number {
  const signal = raw & 0x7f;
  return signal === 0 ? (raw >> 8) & 0xff : 128 + signal;
}

/** This process's pid and parent's pid as the host sees them: /proc is still the host's here. */
export function hostIds(): { pid: number; ppid: number } {
  const stat = fs.readFileSync('/proc/self/stat', 'utf8');
  const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
  return { pid: Number(stat.slice(0, stat.indexOf(' '))), ppid: Number(fields[1]) };
}

/**
 * Every sandbox's command would be PID 2, and software that names temp files after its pid in a shared
 * directory (write-file-atomic, for Jest's transform cache) then collides across sandboxes. The init's
 * host pid is unique on the machine while it lives, so the next PID of the namespace becomes that.
 * Best effort, as in stage 0.
 */
export function claimUniquePid(hostPid: number): void {
  try {
    fs.writeFileSync('/proc/sys/kernel/ns_last_pid', String(hostPid - 1));
  } catch {
    // an older kernel or no capability: the command gets PID 2
  }
}

function tell(fd: number, line: string): void {
  try {
    fs.writeSync(fd, `${line}\n`);
  } catch {
    // the host is gone; the sandbox is about to be killed
  }
}

/**
 * Reaps every process that ends in the sandbox until `command` does, reports its status on `control`,
 * waits for the host's ack (the host lists what is still running meanwhile), then exits with the
 * command's status, which makes the kernel kill everything left in the namespace.
 */
export function serveAsInit(command: number, control: number): never {
  const status = [0];
  let result = 255;
  for (;;) {
    const pid = sys().waitpid(-1, status, 0);
    if (pid === command) {
      result = shellStatus(status[0]);
      break;
    }
    if (pid === -1 && koffi.errno() !== EINTR) break; // ECHILD: nothing left to wait for (cannot happen before the command)
  }
  tell(control, `exit ${result}`);
  try {
    fs.readSync(control, Buffer.alloc(1));
  } catch {
    // no ack coming: the host is gone
  }
  exitNow(result);
}
