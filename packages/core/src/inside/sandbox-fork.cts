// How a zygote makes one sandbox: the same shape as stage 0, built by fork() instead of exec().
//   zygote                    never enters a namespace itself; SIGCHLD ignored, so its children reap themselves
//     sandbox parent          fork 1: unshares mnt/uts/ipc/pid[/net], makes / private, outlives the sandbox
//       init (PID 1)          fork 2: reaps orphans, reports the command's end, its exit kills the rest
//         file process        fork 3: runs the recipe (contain) and then the module (forked.cts)
// Every process dies with its parent (PR_SET_PDEATHSIG), so the caller's death reaches the whole chain.
import fs = require('node:fs');
import koffi = require('koffi');
import {
  CLONE_NEWIPC, CLONE_NEWNET, CLONE_NEWNS, CLONE_NEWPID, CLONE_NEWUTS, EINTR, MS_PRIVATE, MS_REC, PR_SET_PDEATHSIG, SIGCHLD, SIGKILL,
  check, exitNow, mount, prctl, sys, uvLoopFork,
} from './ffi.cjs';
import { assertOwnMountNamespace } from './guard.cjs';
import { forgetSleepers, sleptOnCondvars } from './condvars.cjs';
import { claimUniquePid, hostIds, serveAsInit } from './init.cjs';
import { SetupError, NsboxError } from '../errors.cjs';
import { SETUP_FAILED_STATUS, ZYGOTE_FD, type ForkRequest, type SandboxRole } from '../protocol.cjs';

/** What the zygote knows about itself, kept in its memory: a forked process reads it, nobody can pass it in. */
export interface ZygoteSelf {
  pid: number;
  /** The zygote's own namespaces: no sandbox setup may run in any of them. */
  namespaces: Record<string, string>;
  /** SIGCHLD's disposition before the zygote ignored it (libuv's handler, if any), for the sandbox to restore. */
  sigchld: Buffer;
}

export type SandboxFds = Record<SandboxRole, number>;

function tell(fd: number, line: string): void {
  try {
    fs.writeSync(fd, `${line}\n`);
  } catch {
    // the host is gone
  }
}

/** Reports a failure of the sandbox parent or the init the way the recipe reports its own, then exits. */
function fail(fds: SandboxFds, error: unknown): never {
  const described =
    error instanceof SetupError
      ? error.toJSON()
      : { step: 'zygote', call: '', errno: error instanceof NsboxError ? error.code : 'EXCEPTION', message: String((error as Error)?.message ?? error) };
  tell(fds.control, `error ${JSON.stringify(described)}`);
  tell(fds.stderr, `nsbox: ${described.message}`);
  exitNow(SETUP_FAILED_STATUS);
}

/** Dies with the parent; false if the parent is already gone (then nothing may be started). */
function dieWithParent(expectedParent: () => boolean): boolean {
  prctl('zygote', PR_SET_PDEATHSIG, SIGKILL);
  return expectedParent();
}

/**
 * Forks the sandbox for `request`. In the zygote: returns the sandbox parent's pid (-1 if fork failed).
 * In the file process: returns 0 with the process inside its namespaces, its /proc, mounts and
 * hostname not yet set up (forked.cts does that). The sandbox parent and the init never return.
 */
export function forkSandbox(request: ForkRequest, fds: SandboxFds, zygote: ZygoteSelf): number {
  const slept = sleptOnCondvars();
  // Else what the zygote's native code left in C's stdio buffers would be written again by every fork.
  sys().fflush(null);
  const pid = sys().fork();
  if (pid !== 0) return pid;
  try {
    // Before any JS that could allocate: a GC in here could already signal a sleeper that is not here.
    forgetSleepers(slept);
    return becomeSandboxParent(request, fds, zygote);
  } catch (error) {
    fail(fds, error);
  }
}

function becomeSandboxParent(request: ForkRequest, fds: SandboxFds, zygote: ZygoteSelf): number {
  uvLoopFork();
  const libc = sys();
  libc.sigaction(SIGCHLD, zygote.sigchld, null);
  if (!dieWithParent(() => libc.getppid() === zygote.pid)) exitNow(1);
  // The zygote's request channel: nothing in a sandbox may hold it. /dev/null takes its place rather
  // than leaving fd 3 free: libuv re-creates its signal lock pipe in every forked child on the lowest
  // free fds, and fd 3 is where the file process puts its IPC channel.
  const placeholder = fs.openSync('/dev/null', 'r+');
  libc.dup2(placeholder, ZYGOTE_FD);
  libc.close(placeholder);

  // Into the sandbox's cgroup before anything of the sandbox exists: the init, the setup and the file
  // are all forked from here, so the limits hold from their first instruction.
  if (request.cgroupProcs !== undefined) {
    try {
      fs.writeFileSync(request.cgroupProcs, String(libc.getpid()));
    } catch (error) {
      throw new SetupError('cgroup', `write(${request.cgroupProcs})`, (error as NodeJS.ErrnoException).code ?? 'EIO', 'the sandbox could not join its cgroup');
    }
  }
  const net = request.config.network === 'loopback' ? CLONE_NEWNET : 0;
  const flags = CLONE_NEWNS | CLONE_NEWUTS | CLONE_NEWIPC | CLONE_NEWPID | net;
  check(libc.unshare(flags), 'namespaces', `unshare(CLONE_NEWNS | CLONE_NEWUTS | CLONE_NEWIPC | CLONE_NEWPID${net ? ' | CLONE_NEWNET' : ''})`);
  // As `unshare --propagation private`: nothing mounted in the sandbox may propagate to the host.
  assertOwnMountNamespace(request.config, zygote.namespaces);
  mount('namespaces', null, '/', null, MS_REC | MS_PRIVATE, null);

  const self = libc.getpid();
  const init = libc.fork();
  if (init === 0) {
    try {
      return becomeInit(self, fds);
    } catch (error) {
      fail(fds, error);
    }
  }
  check(init, 'namespaces', 'fork() of the init');
  for (const role of ['stdout', 'stderr', 'ipc'] as const) libc.close(fds[role]);
  // Waits until the init is reaped, which is after the kernel killed and reaped everything in its PID
  // namespace: when this process ends (and the host sees the control connection close), the sandbox is gone.
  const status = [0];
  let reaped: number;
  do reaped = libc.waitpid(init, status, 0);
  while (reaped === -1 && koffi.errno() === EINTR);
  const raw = status[0];
  const signal = raw & 0x7f;
  tell(fds.control, `end ${JSON.stringify(signal === 0 ? { code: (raw >> 8) & 0xff, signal: null } : { code: null, signal })}`);
  exitNow(0);
}

function becomeInit(parent: number, fds: SandboxFds): number {
  const libc = sys();
  // getppid() is 0 for a namespace's init, so the parent is checked through the host's /proc.
  if (!dieWithParent(() => hostIds().ppid === parent)) exitNow(1);
  const { pid: hostPid } = hostIds();
  tell(fds.control, `init ${JSON.stringify({ parent, init: hostPid })}`);
  claimUniquePid(hostPid);
  const command = libc.fork();
  if (command === 0) return 0;
  check(command, 'namespaces', 'fork() of the command');
  // The command's stdio and IPC belong to it and what it starts; the init keeps only the control connection.
  for (const role of ['stdout', 'stderr', 'ipc'] as const) libc.close(fds[role]);
  serveAsInit(command, fds.control);
}
