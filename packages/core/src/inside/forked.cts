// The file process of a sandbox forked from a zygote: it starts as a copy of the zygote, so first it
// fixes what fork() leaves stale, takes its own stdio and IPC channel, runs the same recipe as a
// sandbox born through stage 0, and arranges to leave through _exit (Node's own teardown crashes or
// hangs in a forked process: it joins threads that only exist in the zygote).
import fs = require('node:fs');
import util = require('node:util');
import { setUp } from './enter.cjs';
import { blockingStdio } from './stdio.cjs';
import { exitNow, loopActivity, sys, uvLoopFork } from './ffi.cjs';
import { reseedRandomness } from './random.cjs';
import type { SandboxFds, ZygoteSelf } from './sandbox-fork.cjs';
import type { ForkRequest } from '../protocol.cjs';

/** Node caches its pid and parent pid at start-up: a forked process would report the zygote's. */
function fixIdentity(): void {
  const libc = sys();
  Object.defineProperty(process, 'pid', { value: libc.getpid(), writable: false, enumerable: true, configurable: true });
  Object.defineProperty(process, 'ppid', { get: () => libc.getppid(), enumerable: true, configurable: true });
}

/** The sandbox's connections become fds 1, 2 and 3, where a stock forked child has stdout, stderr and its IPC channel. */
function takeStdio(fds: SandboxFds): void {
  const libc = sys();
  for (const [role, target] of [['stdout', 1], ['stderr', 2], ['ipc', 3]] as const) {
    if (libc.dup2(fds[role], target) === -1) throw new Error(`dup2(${role}, ${target}) failed`);
    libc.close(fds[role]);
  }
}

function takeRequest(request: ForkRequest, execArgv: string[]): void {
  for (const key of Object.keys(process.env)) delete process.env[key];
  Object.assign(process.env, request.env);
  process.argv = [process.execPath, request.module, ...request.args];
  process.execArgv = [...execArgv];
  try {
    // As a process started with child_process.fork shows it (its argv[0], the Node binary); `ps` shows
    // the same, within the zygote's own command line's length.
    process.title = process.execPath;
  } catch {
    // cosmetic only
  }
}

/** Set in a forked file process only: leaves through _exit. */
let leave: ((code: unknown) => never) | undefined;

/**
 * Every way out of Node ends here: process.exit() and the end of the event loop both emit 'exit', and
 * process.exit() then calls process.reallyExit, whose native teardown crashes in a forked process.
 * The hooks are installed in the zygote before it loads anything, so that libraries which keep the
 * "original" process.emit and process.reallyExit to call later (signal-exit, loaded by Jest's cache
 * writer, does) keep these; they do nothing until a forked file process arms them.
 */
export function hookExits(): void {
  const emit = process.emit;
  process.emit = function (this: NodeJS.Process, event: string | symbol, ...args: unknown[]) {
    try {
      return (emit as (...a: unknown[]) => boolean).call(this, event, ...args);
    } finally {
      if (event === 'exit') leave?.(process.exitCode ?? args[0]);
    }
  } as typeof process.emit;
  const reallyExit = (process as unknown as { reallyExit: (code?: number) => never }).reallyExit;
  (process as unknown as { reallyExit: (code?: number) => never }).reallyExit = function (this: NodeJS.Process, code?: number) {
    if (leave) leave(code ?? process.exitCode);
    return reallyExit.call(this, code);
  };
}

/**
 * Arms the hooks in the file process: after the 'exit' listeners have run it _exits. stdout and stderr
 * are blocking, so nothing is left unwritten. An uncaught exception emits 'exit' too, before Node would
 * print it (in C++, after which it tears down and crashes): it is printed here instead, as close to
 * Node's own output as JS can get.
 */
function exitThroughExitEvent(): void {
  let fatal: { error: unknown } | undefined;
  process.on('uncaughtExceptionMonitor', (error) => {
    fatal = { error };
    queueMicrotask(() => (fatal = undefined));
  });
  leave = (code: unknown): never => {
    if (fatal && process.listenerCount('uncaughtException') === 0) {
      try {
        fs.writeSync(2, `${util.inspect(fatal.error)}\n\nNode.js ${process.version}\n`);
      } catch {
        // stderr is gone
      }
    }
    const status = Number(code ?? 0);
    exitNow(Number.isInteger(status) ? status & 0xff : 1);
  };
}

/**
 * Node 20's V8 posts work for the platform's worker threads during a full GC even with
 * --single-threaded (the parallel clearing of weak references); a forked process has no such threads,
 * so the wait for them that Node does when the event loop runs empty would last forever. So the loop
 * never runs empty: this timer keeps it alive and recognizes the natural end itself (nothing else
 * keeps the process alive), then does what Node does there: 'beforeExit', and unless that scheduled
 * more work, 'exit' (which ends in _exit).
 */
const IDLE_POLL_MS = 20;

function endWhenIdle(): void {
  // The keep-alive is one ref'd handle of its own (a MessagePort with a listener); the poll is an
  // unref'd timer, so it counts for nothing. Idle: nothing but the keep-alive is active.
  const { port1 } = new (require('node:worker_threads') as typeof import('node:worker_threads')).MessageChannel();
  port1.on('message', () => {});
  const idle = () => {
    const { handles, requests } = loopActivity();
    return handles <= 1 && requests === 0;
  };
  setInterval(() => {
    if (!idle()) return;
    process.emit('beforeExit', Number(process.exitCode ?? 0));
    setImmediate(() => {
      if (idle()) process.emit('exit', Number(process.exitCode ?? 0));
    }).unref();
  }, IDLE_POLL_MS).unref();
}

/**
 * Turns the forked copy of the zygote into the sandbox's file process, inside its namespaces. Returns
 * when the module may run; on a setup failure the host is told and the process exits with 125.
 */
export function becomeFileProcess(request: ForkRequest, fds: SandboxFds, zygote: ZygoteSelf, execArgv: string[]): void {
  uvLoopFork();
  fixIdentity();
  takeStdio(fds);
  takeRequest(request, execArgv);
  reseedRandomness();
  exitThroughExitEvent();
  setUp(request.config, fds.control, exitNow, zygote.namespaces, () => process.chdir(request.cwd));
  blockingStdio();
  endWhenIdle();
  // As Node does for a child started with an IPC channel on fd 3 (NODE_CHANNEL_FD): process.send and 'message'.
  (require('node:child_process') as { _forkChild(fd: number, serialization: string): void })._forkChild(3, request.serialization);
}
