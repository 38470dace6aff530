// What a process is doing right now, read from the host's /proc: a file that stops making progress
// must not look like a slow test. Said when a per-file timeout fires and when a run is interrupted.
import fs from 'node:fs';
import { procStat } from './leftovers.js';

const CLOCK_TICKS = 100; // USER_HZ, the unit of /proc/PID/stat's CPU times on every Linux Node supports

// The calls a test process is found waiting in, by architecture; any other shows its number.
const SYSCALLS: Record<string, Record<number, string>> = {
  x64: {
    0: 'read', 1: 'write', 7: 'poll', 23: 'select', 35: 'nanosleep', 42: 'connect', 43: 'accept', 45: 'recvfrom', 47: 'recvmsg',
    61: 'wait4', 202: 'futex', 230: 'clock_nanosleep', 232: 'epoll_wait', 247: 'waitid', 270: 'pselect6', 271: 'ppoll',
    281: 'epoll_pwait', 288: 'accept4', 441: 'epoll_pwait2',
  },
  arm64: {
    22: 'epoll_pwait', 63: 'read', 64: 'write', 72: 'pselect6', 73: 'ppoll', 98: 'futex', 101: 'nanosleep', 115: 'clock_nanosleep',
    202: 'accept', 203: 'connect', 207: 'recvfrom', 212: 'recvmsg', 242: 'accept4', 260: 'wait4', 95: 'waitid', 441: 'epoll_pwait2',
  },
};

/** What waiting in each call usually means for a Node test process. */
const MEANING: Record<string, string> = {
  futex: 'a lock or condition variable; a deadlock if it lasts, as Node waits there only in Atomics.wait and synchronous worker calls',
  epoll_wait: 'its event loop, idle: waiting for a timer, a socket, a child process or a promise that never settles',
  epoll_pwait: 'its event loop, idle: waiting for a timer, a socket, a child process or a promise that never settles',
  epoll_pwait2: 'its event loop, idle: waiting for a timer, a socket, a child process or a promise that never settles',
  read: 'a synchronous read (a pipe, a terminal, a socket)',
  wait4: 'a synchronous child process (execSync, spawnSync) that has not ended',
  waitid: 'a synchronous child process (execSync, spawnSync) that has not ended',
};

const STATES: Record<string, string> = { R: 'running on a CPU', S: 'sleeping', D: 'in uninterruptible I/O', T: 'stopped', t: 'stopped by a debugger', Z: 'a zombie' };

export interface Activity {
  pid: number;
  /** stat(5)'s state letter. */
  state: string;
  /** The system call the main thread is blocked in, when it is blocked in one. */
  syscall?: string;
  /** The kernel function it sleeps in (wchan), when /proc shows it. */
  wchan?: string;
  threads: number;
  /** User and system CPU time so far, in seconds. */
  cpuSeconds: number;
}

export function activityOf(pid: number | undefined): Activity | undefined {
  if (pid === undefined) return undefined;
  const stat = procStat(pid);
  if (!stat) return undefined;
  const activity: Activity = {
    pid,
    state: stat[0],
    threads: Number(stat[17]),
    cpuSeconds: (Number(stat[11]) + Number(stat[12])) / CLOCK_TICKS,
  };
  try {
    const [number] = fs.readFileSync(`/proc/${pid}/syscall`, 'utf8').trim().split(' ');
    // "running" when on a CPU, -1 when not in a call; else the call's number and arguments.
    if (/^\d+$/.test(number)) activity.syscall = SYSCALLS[process.arch]?.[Number(number)] ?? `system call ${number}`;
  } catch {
    // not ours to inspect (another user's, or ptrace is restricted): the state alone
  }
  try {
    const wchan = fs.readFileSync(`/proc/${pid}/wchan`, 'utf8').trim();
    if (wchan && wchan !== '0') activity.wchan = wchan;
  } catch {
    // as above
  }
  return activity;
}

/** For example "(host pid 4242) was sleeping in futex() (a lock or condition variable: ...), 1 thread, 0.41 s of CPU"; the caller names the process. */
export function describeActivity(activity: Activity): string {
  const state = STATES[activity.state[0]] ?? `in state ${activity.state}`;
  const call = activity.state[0] !== 'R' && activity.syscall ? ` in ${activity.syscall}()${MEANING[activity.syscall] ? ` (${MEANING[activity.syscall]})` : ''}` : '';
  const threads = `${activity.threads} thread${activity.threads === 1 ? '' : 's'}`;
  return `(host pid ${activity.pid}) was ${state}${call}, ${threads}, ${activity.cpuSeconds.toFixed(2)} s of CPU`;
}

/** The line for a process, or undefined when it is gone. */
export function whatItIsDoing(pid: number | undefined): string | undefined {
  const activity = activityOf(pid);
  return activity && describeActivity(activity);
}

const INTERRUPTS: NodeJS.Signals[] = ['SIGINT', 'SIGTERM'];

/**
 * While registered: when the run is interrupted (SIGINT, SIGTERM), writes `lines()` (what each running
 * file's process is doing) before anything else handles the signal. Where nothing else listens for it
 * the signal then does what it would have done without this listener: it ends the process. Returns the
 * function that unregisters it.
 */
export function sayOnInterrupt(lines: () => string[]): () => void {
  const handler = (signal: NodeJS.Signals) => {
    try {
      for (const line of lines()) fs.writeSync(2, `${line}\n`);
    } catch {
      // stderr is gone: nothing to say it on
    }
    if (process.listenerCount(signal) === 1) {
      dispose();
      process.kill(process.pid, signal);
    }
  };
  const dispose = () => {
    for (const signal of INTERRUPTS) process.off(signal, handler);
  };
  for (const signal of INTERRUPTS) process.prependListener(signal, handler);
  return dispose;
}
