// `node --single-threaded zygote.cjs`, started through stage 0 (zygote.ts): a warm Node process that
// loads what the caller asks for once, then forks a sandbox per request (sandbox-fork.cts). It never
// enters a mount, UTS, IPC or PID namespace itself and never mounts anything: the host's state is only
// ever changed by processes that have proved they are in namespaces of their own.
//
// It serves requests with blocking reads, outside the event loop: a forked file process then returns
// from the loop into a normal Node event loop, and no handle of the zygote's (a socket on the request
// channel, a signal watcher) is ever copied into a sandbox where it could be used.
import fs = require('node:fs');
import { StringDecoder } from 'node:string_decoder';
import { pathToFileURL } from 'node:url';
import { AF_UNIX, PR_SET_PDEATHSIG, SIGACTION_SIZE, SIGCHLD, SIGKILL, SOCK_CLOEXEC, SOCK_STREAM, check, errnoName, exitNow, prctl, sys } from './ffi.cjs';
import { namespaceIds } from './guard.cjs';
import { clearDontfork, neutralizeDontfork } from './seccomp.cjs';
import { forkSandbox, type SandboxFds, type ZygoteSelf } from './sandbox-fork.cjs';
import { becomeFileProcess, hookExits } from './forked.cjs';
import { warmUp } from './warm.cjs';
import { settleHeap } from './heap.cjs';
import { SANDBOX_ROLES, SETUP_FAILED_STATUS, ZYGOTE_ENV, ZYGOTE_FD, type ForkRequest, type ZygoteConfig, type ZygoteMessage } from '../protocol.cjs';
import koffi = require('koffi');

const F_GETFL = 3;
const F_SETFL = 4;
const O_NONBLOCK = 0o4000;
const SIG_IGN = 1n;

function tell(message: ZygoteMessage): void {
  fs.writeSync(ZYGOTE_FD, `${JSON.stringify(message)}\n`);
}

/** A module's default export (CJS: module.exports), awaited; called first if it is a function. */
async function prepare(modulePath: string): Promise<void> {
  const loaded = (await import(pathToFileURL(modulePath).href)) as { default?: unknown };
  const value = await loaded.default;
  if (typeof value === 'function') await value();
}

/**
 * Children are reaped by the kernel (SIGCHLD ignored): the zygote waits for nothing. The previous
 * disposition is kept for the sandboxes to restore, so their own child processes are Node's again.
 */
function ignoreChildren(): Buffer {
  const ignore = Buffer.alloc(SIGACTION_SIZE);
  ignore.writeBigUInt64LE(SIG_IGN, 0);
  const previous = Buffer.alloc(SIGACTION_SIZE);
  check(sys().sigaction(SIGCHLD, ignore, previous), 'zygote', 'sigaction(SIGCHLD, SIG_IGN)');
  return previous;
}

/** A connection to the host's socket, announced with `<token> <role>`, close-on-exec. */
function connectHost(socketPath: string, header: string): number {
  const libc = sys();
  const fd = libc.socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
  check(fd, 'zygote', 'socket(AF_UNIX)');
  const address = Buffer.alloc(110); // struct sockaddr_un { sa_family_t sun_family; char sun_path[108]; }
  address.writeUInt16LE(AF_UNIX, 0);
  const length = address.write(socketPath, 2, 'utf8');
  if (libc.connect(fd, address, 2 + length + 1) === -1) {
    const errno = errnoName(koffi.errno());
    libc.close(fd);
    throw new Error(`connect(${socketPath}) failed with ${errno}`);
  }
  fs.writeSync(fd, `${header}\n`);
  return fd;
}

/**
 * Handles one request. Returns the request in the sandbox's file process only (the caller then runs
 * the module); in the zygote it reports the fork and returns undefined.
 */
function serveOne(request: ForkRequest, config: ZygoteConfig, self: ZygoteSelf): ForkRequest | undefined {
  const fds: Partial<SandboxFds> = {};
  try {
    for (const role of SANDBOX_ROLES) fds[role] = connectHost(config.socketPath, `${request.token} ${role}`);
  } catch (error) {
    for (const fd of Object.values(fds)) sys().close(fd);
    tell({ type: 'failed', id: request.id, message: String((error as Error).message) });
    return undefined;
  }
  const pid = forkSandbox(request, fds as SandboxFds, self);
  if (pid === 0) {
    try {
      becomeFileProcess(request, fds as SandboxFds, self, config.execArgv);
    } catch (error) {
      // Never back into the zygote's loop: a sandbox that cannot be set up ends here.
      const message = String((error as Error)?.message ?? error);
      for (const [fd, line] of [[fds.control!, `error ${JSON.stringify({ step: 'zygote', call: '', errno: 'EXCEPTION', message })}`], [2, `nsbox: ${message}`]] as const) {
        try {
          fs.writeSync(fd, `${line}\n`);
        } catch {
          // the host is gone
        }
      }
      exitNow(SETUP_FAILED_STATUS);
    }
    return request;
  }
  // The sandbox holds its own copies now.
  for (const fd of Object.values(fds)) sys().close(fd);
  if (pid === -1) tell({ type: 'failed', id: request.id, message: `fork() failed with ${errnoName(koffi.errno())}` });
  else tell({ type: 'forked', id: request.id, pid });
  return undefined;
}

/** Serves requests until the host closes the channel (then the zygote exits, and its sandboxes with it). */
function serve(config: ZygoteConfig, self: ZygoteSelf): ForkRequest {
  const libc = sys();
  libc.fcntl(ZYGOTE_FD, F_SETFL, 'int', libc.fcntl(ZYGOTE_FD, F_GETFL) & ~O_NONBLOCK);
  const decoder = new StringDecoder('utf8');
  const chunk = Buffer.alloc(64 * 1024);
  let buffered = '';
  for (;;) {
    let read: number;
    try {
      read = fs.readSync(ZYGOTE_FD, chunk);
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code === 'EINTR' || (error as NodeJS.ErrnoException).code === 'EAGAIN') continue;
      throw error;
    }
    if (read === 0) process.exit(0);
    buffered += decoder.write(chunk.subarray(0, read));
    let newline: number;
    while ((newline = buffered.indexOf('\n')) >= 0) {
      const line = buffered.slice(0, newline);
      buffered = buffered.slice(newline + 1);
      const request = JSON.parse(line) as ForkRequest;
      if (request.type !== 'fork') continue;
      const forked = serveOne(request, config, self);
      if (forked) return forked;
    }
  }
}

async function main(): Promise<void> {
  const raw = process.env[ZYGOTE_ENV];
  if (raw === undefined) {
    fs.writeSync(2, 'nsbox: zygote.cjs is started by nsbox only\n');
    process.exit(125);
  }
  delete process.env[ZYGOTE_ENV];
  const config = JSON.parse(raw) as ZygoteConfig;
  try {
    // setpriv set the death signal already; set it again here, where it is this process's own, and check
    // the caller did not die before it was set.
    prctl('zygote', PR_SET_PDEATHSIG, SIGKILL);
    if (sys().getppid() !== config.callerPid) process.exit(1);
    neutralizeDontfork();
    clearDontfork();
    hookExits();
    await warmUp();
    for (const modulePath of config.prepare) await prepare(modulePath);
    settleHeap();
  } catch (error) {
    tell({ type: 'error', message: String((error as Error)?.stack ?? error) });
    process.exit(1);
  }
  const self: ZygoteSelf = { pid: process.pid, namespaces: namespaceIds(), sigchld: ignoreChildren() };
  tell({ type: 'ready', pid: process.pid });
  const request = serve(config, self);
  // Only the sandbox's file process gets here, set up and inside its sandbox.
  (require('node:module') as { runMain(main?: string): void }).runMain(request.module);
}

void main();
