// Seen from the host, every process of a sandbox descends from its init: orphans are reparented to it.
import fs from 'node:fs';

export interface Leftover {
  /** The pid inside the sandbox. */
  pid: number;
  /** The pid on the host. */
  hostPid: number;
  /** The command line, arguments joined by spaces. */
  command: string;
}

export function childrenOf(pid: number): number[] {
  const children: number[] = [];
  let tasks: string[];
  try {
    tasks = fs.readdirSync(`/proc/${pid}/task`);
  } catch {
    return children;
  }
  for (const tid of tasks) {
    try {
      for (const child of fs.readFileSync(`/proc/${pid}/task/${tid}/children`, 'utf8').split(' ')) {
        if (child.trim()) children.push(Number(child));
      }
    } catch {
      // the task ended meanwhile
    }
  }
  return children;
}

export function descendantsOf(pid: number): number[] {
  const found: number[] = [];
  const queue = childrenOf(pid);
  while (queue.length > 0) {
    const next = queue.shift()!;
    found.push(next);
    queue.push(...childrenOf(next));
  }
  return found;
}

/** The pid a host process has in the innermost PID namespace it belongs to. */
export function innerPid(hostPid: number): number | undefined {
  try {
    const status = fs.readFileSync(`/proc/${hostPid}/status`, 'utf8');
    const line = /^NSpid:\s*(.+)$/m.exec(status);
    return line ? Number(line[1].trim().split(/\s+/).pop()) : undefined;
  } catch {
    return undefined;
  }
}

export function describeProcess(hostPid: number): Leftover | undefined {
  const pid = innerPid(hostPid);
  if (pid === undefined) return undefined;
  let command = '';
  try {
    command = fs.readFileSync(`/proc/${hostPid}/cmdline`, 'utf8').split('\0').filter(Boolean).join(' ');
    if (!command) command = `[${fs.readFileSync(`/proc/${hostPid}/comm`, 'utf8').trim()}]`;
  } catch {
    return undefined;
  }
  return { pid, hostPid, command };
}

/**
 * The fields of /proc/PID/stat after the command name (which may hold spaces and parentheses): index 0
 * is field 3 of stat(5), the state. Undefined when there is no such process.
 */
export function procStat(pid: number): string[] | undefined {
  try {
    const stat = fs.readFileSync(`/proc/${pid}/stat`, 'utf8');
    return stat.slice(stat.lastIndexOf(')') + 2).split(' ');
  } catch {
    return undefined;
  }
}

/**
 * Whether `pid` is a process that still runs, and, given a start time, the same process as then (a
 * reused pid never matches). A zombie is dead: where nothing reaps promptly (a container's PID 1
 * without an init, a subreaper that never waits) a killed process stays a zombie, its pid and start
 * time unchanged, for as long as its parent lives.
 */
export function isRunning(pid: number, start?: number): boolean {
  const fields = procStat(pid);
  if (!fields || /^[ZXx]/.test(fields[0])) return false;
  return start === undefined || Number(fields[19]) === start;
}

/** Start time of a process in clock ticks after boot (stat(5) field 22), undefined if there is none. */
export function startTime(pid: number): number | undefined {
  const fields = procStat(pid);
  return fields && Number(fields[19]);
}

/** The host pid of the command itself: the init's oldest child (orphans are reparented to the init later). */
export function commandOf(stage0Pid: number): number | undefined {
  const init = initOf(stage0Pid);
  if (init === undefined) return undefined;
  return childrenOf(init).sort((a, b) => (startTime(a) ?? Infinity) - (startTime(b) ?? Infinity))[0];
}

/** The host pid of the sandbox's init (PID 1), the only child of the stage-0 process. */
export function initOf(stage0Pid: number): number | undefined {
  return childrenOf(stage0Pid)[0];
}

export function sandboxProcesses(stage0Pid: number): Leftover[] {
  const init = initOf(stage0Pid);
  if (init === undefined) return [];
  return descendantsOf(init).map(describeProcess).filter((p): p is Leftover => p !== undefined);
}

/** Sends `signal` to one process; false if there is none (any more). */
export function signalProcess(pid: number | undefined, signal: NodeJS.Signals | number): boolean {
  if (pid === undefined) return false;
  try {
    process.kill(pid, signal);
    return true;
  } catch {
    return false;
  }
}

const pause = new Int32Array(new SharedArrayBuffer(4));

function stoppedOrGone(pid: number): boolean {
  const state = procStat(pid)?.[0];
  return state === undefined || /^[TtZX]/.test(state);
}

/**
 * Kills a sandbox through its stage 0 (setpriv → unshare --kill-child). unshare's child arms that
 * death signal only once it runs: a SIGKILL in a sandbox's first moments (a 1 ms timeout, a destroy()
 * right after the spawn) orphaned the init with the command running (seen). So stage 0 is stopped
 * first, which keeps it from forking, then its child, the init, is killed (its death empties the
 * PID namespace), then stage 0 itself.
 */
export function killStage0(pid: number | undefined): boolean {
  if (pid === undefined || !signalProcess(pid, 'SIGSTOP')) return false;
  for (let i = 0; i < 500 && !stoppedOrGone(pid); i++) Atomics.wait(pause, 0, 0, 1);
  for (const child of childrenOf(pid)) signalProcess(child, 'SIGKILL');
  return signalProcess(pid, 'SIGKILL');
}
