// What the host side and the sandbox side agree on. Both sides import this file only.

/** Environment variable carrying the sandbox config (JSON) into the sandbox; removed before user code runs. */
export const CONFIG_ENV = 'NSBOX_SANDBOX';

/**
 * The init's control socket: the init (PID 1) writes `exit <status>` when the command ends and waits for
 * the host's ack, which gives the host time to list the processes still running before the kernel kills
 * them. A single digit because POSIX sh redirections only take fds 0 to 9; the command never sees it.
 */
export const CONTROL_FD = 9;

/**
 * The setup's socket: the in-sandbox setup writes `ready`/`error` on it and closes it. It sits above
 * every fd Node opens while it starts, so that, once closed, the command's fds are numbered exactly as
 * in a process started without nsbox (an open fd 9 would shift each of Node's own fds by one).
 */
export const SETUP_FD = 100;

/** The init keeps the command's stdin and stderr here while its own are not theirs; user stdio may use fds 0 to 6. */
export const SAVED_STDIN_FD = 7;
export const SAVED_STDERR_FD = 8;

/** Exit status of the sandbox when its setup failed (as docker and env use 125 for 'could not run'). */
export const SETUP_FAILED_STATUS = 125;

export type NetworkMode = 'host' | 'loopback';
export type Identity = 'caller' | 'root';

/** The validated sandbox description that crosses into the sandbox. */
export interface SandboxConfig {
  hostname: string;
  network: NetworkMode;
  /** tmpfs mounts: /tmp, /dev/shm and the user's extra ones. */
  tmpfs: { path: string; size: string | undefined; mode: string }[];
  bind: { source: string; target: string; readOnly: boolean }[];
  readOnly: boolean;
  writable: string[];
  /** Paths that must stay visible at the same path although they lie under a tmpfs. */
  expose: string[];
  /** Drop every capability before user code runs (rootless default identity). */
  dropCapabilities: boolean;
  /** Capabilities to drop although the rest stay: CAP_SYS_ADMIN and CAP_SYS_PTRACE for a root test that must not undo its mounts (options.ts). */
  dropCapability: number[];
  /**
   * Variables that the way into the sandbox changes, with the values the caller gave the command
   * (null: unset), put back before user code runs: PWD, which the init's shell rewrites, and
   * NODE_OPTIONS, which carries the setup preload into a Node command.
   */
  restoreEnv: Record<string, string | null>;
  /** The namespaces of the process that asked for the sandbox: the setup refuses to run in any of them. */
  parentNamespaces: Record<string, string>;
}

export type ControlMessage =
  | { type: 'ready'; hostname: string }
  | { type: 'error'; error: { step: string; call: string; errno: string; hint?: string; message: string } }
  | { type: 'exit'; status: number }
  // A zygote's sandbox only: the host pids of the sandbox's parent (which outlives everything in it)
  // and of its init, then how the init ended.
  | { type: 'init'; parent: number; init: number }
  | { type: 'end'; code: number | null; signal: number | null };

export function parseControlLine(line: string): ControlMessage | undefined {
  const space = line.indexOf(' ');
  const head = space < 0 ? line : line.slice(0, space);
  const rest = space < 0 ? '' : line.slice(space + 1);
  try {
    if (head === 'ready') return { type: 'ready', ...JSON.parse(rest) };
    if (head === 'error') return { type: 'error', error: JSON.parse(rest) };
    if (head === 'exit') return { type: 'exit', status: Number(rest) };
    if (head === 'init') return { type: 'init', ...JSON.parse(rest) };
    if (head === 'end') return { type: 'end', ...JSON.parse(rest) };
  } catch {
    return undefined;
  }
  return undefined;
}

// The zygote (zygote.ts on the host, inside/zygote.cts).

/** Environment variable carrying the ZygoteConfig (JSON) into the zygote; removed at once. */
export const ZYGOTE_ENV = 'NSBOX_ZYGOTE';

/**
 * The zygote's request channel: a socketpair to the host, JSON lines both ways. Only the zygote holds
 * it; a forked sandbox closes it before anything else, so no test code can ever reach it.
 */
export const ZYGOTE_FD = 3;

export interface ZygoteConfig {
  /** The host's unix socket (in a mode-700 directory) that every forked sandbox connects to. */
  socketPath: string;
  /** Modules loaded before the first fork: each one's default export (CJS: module.exports) is awaited, and called first if it is a function. */
  prepare: string[];
  /** The caller's pid: the zygote checks it is still its parent once its death signal is set. */
  callerPid: number;
  /** What a forked process reports as process.execArgv (the zygote's own flags minus --single-threaded). */
  execArgv: string[];
}

/** The connections a forked sandbox opens to the host, each announced by a `<token> <role>` line. */
export const SANDBOX_ROLES = ['control', 'stdout', 'stderr', 'ipc'] as const;
export type SandboxRole = (typeof SANDBOX_ROLES)[number];

export interface ForkRequest {
  type: 'fork';
  id: number;
  /** Random; names this sandbox's connections to the host. */
  token: string;
  config: SandboxConfig;
  module: string;
  args: string[];
  env: Record<string, string>;
  cwd: string;
  serialization: 'json' | 'advanced';
  /** The cgroup.procs file of the sandbox's group: the sandbox parent writes its pid there before anything else. */
  cgroupProcs?: string;
}

export type ZygoteMessage =
  | { type: 'ready'; pid: number }
  | { type: 'error'; message: string }
  | { type: 'forked'; id: number; pid: number }
  | { type: 'failed'; id: number; message: string };
