// The host side of a sandbox: starts stage 0, follows the control socket, reports what was left
// running, and kills everything at the end. The only place in nsbox that spawns a sandbox.
import { fork as forkProcess, spawn as spawnProcess, type ChildProcess, type StdioOptions, type IOType } from 'node:child_process';
import os from 'node:os';
import fs from 'node:fs';
import path from 'node:path';
import { createRequire } from 'node:module';
import { fileURLToPath } from 'node:url';
import type { Socket } from 'node:net';
import { OptionError, StartError, setupFailure } from './errors.cjs';
import { onLines } from './lines.js';
import { CONFIG_ENV, CONTROL_FD, SAVED_STDIN_FD, SETUP_FD, parseControlLine, type ControlMessage, type SandboxConfig } from './protocol.cjs';
import { resolveOptions, type OptionLabel, type SandboxOptions, configLabel } from './options.js';
import { stage0, stage0Tools } from './stage0.js';
import { SandboxCgroup, reapedCpuTime, type LimitsReached, type SandboxUsage } from './cgroup.js';
import { which } from './which.cjs';
import { sandboxProcesses, commandOf, initOf, killStage0, signalProcess, type Leftover } from './leftovers.js';
import { Registration, newSandboxId, recordsToHide, type Annotation } from './registry.js';
import { whatItIsDoing } from './activity.js';
import { fullTmpfsOf, type FullTmpfs } from './tmpfs-full.js';

const here = path.dirname(fileURLToPath(import.meta.url));
export const PRELOAD = path.join(here, 'inside', 'preload.cjs');
const EXEC_ENTRY = path.join(here, 'inside', 'exec.cjs');
const CORE_ROOT = path.resolve(here, '..');
// koffi loads its native binary from a sibling package, so keep the whole node_modules it lives in.
const KOFFI_MODULES = nodeModulesOf(fs.realpathSync(createRequire(import.meta.url).resolve('koffi')));

function nodeModulesOf(file: string): string {
  const parts = file.split(path.sep);
  const index = parts.indexOf('node_modules');
  return index < 0 ? path.dirname(file) : parts.slice(0, index + 1).join(path.sep);
}

export interface SpawnOptions extends SandboxOptions {
  cwd?: string;
  env?: NodeJS.ProcessEnv;
  /** As child_process.spawn's; at most 7 entries (fds 7 to 9 belong to the sandbox's init). */
  stdio?: StdioOptions;
  /**
   * Called when the command has ended, before the init exits (which makes the kernel kill what is
   * left): the sandbox stays as it is, its other processes running, until the promise settles.
   * `nsbox run --keep-on-failure` keeps a failed command's sandbox so.
   */
  beforeTeardown?: (status: number) => Promise<unknown> | undefined;
}

export interface ForkOptions extends SpawnOptions {
  execPath?: string;
  execArgv?: string[];
  serialization?: 'json' | 'advanced';
  /** As child_process.fork's: pipe stdout and stderr instead of inheriting them. */
  silent?: boolean;
  /**
   * Other modules the forked module will load (a worker entry that loads a plugin, say): each stays
   * visible with its package or install tree, as the forked module itself does.
   */
  loads?: string[];
}

export interface SandboxExit {
  /** The command's exit status; 128+N when a signal N killed it (the init reports it so). */
  code: number | null;
  /** Set when the whole sandbox was killed from outside (destroy(), timeout, SIGKILL). */
  signal: NodeJS.Signals | null;
  timedOut: boolean;
  /** With a timeout that fired: what the command's process was doing then (see activity()). */
  atTimeout?: string;
  /** The sandbox's tmpfs mounts (/tmp, /dev/shm, --tmpfs) that were full when the command ended. */
  fullTmpfs?: FullTmpfs[];
  /** Processes still running when the command ended, listed before they were killed. */
  leftovers: Leftover[];
  /** With `stats`: what the sandbox used (peak memory, CPU time); what could not be measured is in `usage.missing`. */
  usage?: SandboxUsage;
  /** Set when a cgroup limit acted: the kernel OOM-killed in the sandbox (memoryMax), or forks failed (pidsMax). */
  limitsReached?: LimitsReached;
}

export interface SandboxControls {
  readonly hostname: string;
  /** What `nsbox ps` lists this sandbox as, and `nsbox exec` takes. */
  readonly id: string;
  /** Adds to what `nsbox ps` shows: the test files, the adapter and its worker slot. */
  annotate(annotation: Annotation): void;
  /** Resolves once the in-sandbox setup is done; rejects with SetupError or StartError. */
  readonly ready: Promise<void>;
  /** Resolves when the sandbox and everything in it is gone. */
  readonly exited: Promise<SandboxExit>;
  /** The processes running in the sandbox now, the init excluded, the command included. */
  processes(): Leftover[];
  /** What the command's process is doing now (its state, the call it waits in, its CPU time), for a timeout or an interrupt to say. */
  activity(): string | undefined;
  /** Lets the caller's event loop exit while this sandbox idles (a sandbox booted ahead of need). */
  unref(): void;
  /** Undoes unref(). */
  ref(): void;
  /**
   * Kills every process of the sandbox at once. What runs besides the command itself is listed first,
   * in `exited.leftovers` and a 'leftovers' event.
   */
  destroy(): Promise<SandboxExit>;
}

/**
 * A ChildProcess for the sandboxed command (stdio, IPC and events as usual) with sandbox controls.
 * `kill(signal)` signals the command itself; `kill('SIGKILL')` takes down the whole sandbox.
 */
export type SandboxProcess = ChildProcess & SandboxControls;

const MAX_STDIO = SAVED_STDIN_FD;

function normalizeStdio(stdio: StdioOptions | undefined, fallback: (IOType | 'ipc' | number)[]): StdioOptions {
  const entries = stdio === undefined ? fallback : typeof stdio === 'string' ? [stdio, stdio, stdio] : [...stdio];
  if (entries.length > MAX_STDIO) {
    throw new OptionError("option 'stdio'", `${entries.length} entries`, `at most ${MAX_STDIO} entries: fds ${SAVED_STDIN_FD} to ${CONTROL_FD} belong to the sandbox's init`);
  }
  while (entries.length < SETUP_FD) entries.push(entries.length === CONTROL_FD ? 'pipe' : 'ignore');
  return [...entries, 'pipe'] as StdioOptions;
}

/**
 * What a forked module needs to see to load its dependencies when it lies under a private tmpfs: the
 * install tree it is in (its outermost node_modules), or else its package (the nearest directory with
 * a package.json, nested node_modules included). A tmpfs mount point itself is never re-exposed.
 */
export function moduleScope(file: string): string {
  const real = realpathOrNull(file) ?? file;
  if (real.split(path.sep).includes('node_modules')) return nodeModulesOf(real);
  for (let dir = path.dirname(real); dir !== path.dirname(dir); dir = path.dirname(dir)) {
    if (fs.existsSync(path.join(dir, 'package.json'))) return dir;
  }
  return path.dirname(real);
}

function realpathOrNull(p: string): string | null {
  try {
    return fs.realpathSync(p);
  } catch {
    return null;
  }
}

/** The sandbox records are hidden in every sandbox: an empty tmpfs over their directory (registry.ts). */
export function hideRecords(config: SandboxConfig): void {
  const records = recordsToHide();
  if (records && !config.tmpfs.some((t) => t.path === records)) config.tmpfs.push({ path: records, size: '1m', mode: '700' });
}

/** What the sandbox needs to see even if it lies under a private tmpfs (a checkout in /tmp, say). */
export function autoExpose(cwd: string, execPath: string, extra: string[]): string[] {
  const wanted = [cwd, path.dirname(execPath), path.dirname(fs.realpathSync(execPath)), CORE_ROOT, KOFFI_MODULES, ...extra];
  return [...new Set(wanted.map(realpathOrNull).filter((p): p is string => p !== null).concat(wanted.filter((p) => fs.existsSync(p))))];
}

interface LaunchSpec {
  command: string[];
  stdio: StdioOptions;
  serialization?: 'json' | 'advanced';
  /** A Node command: the setup goes in as a preload, one Node start instead of two. */
  preload: boolean;
  /** The command as `nsbox ps` shows it. */
  what: string;
}

/**
 * The preload goes through NODE_OPTIONS, not the command line: the command's argv, execArgv and
 * /proc/PID/cmdline are then exactly what they would be without nsbox, and the setup restores
 * NODE_OPTIONS before user code runs, so nothing the test starts loads nsbox.
 */
function withPreload(nodeOptions: string | undefined): string {
  return `${nodeOptions ? `${nodeOptions} ` : ''}--require ${JSON.stringify(PRELOAD)}`;
}

function launch(options: SpawnOptions, label: OptionLabel, build: (execPath: string) => LaunchSpec & { expose: string[] }): SandboxProcess {
  const { cwd, env, stdio: _stdio, execPath: _execPath, execArgv: _execArgv, serialization: _serialization, silent: _silent, loads: _loads, beforeTeardown, ...sandboxOptions } =
    options as ForkOptions;
  const resolved = resolveOptions(sandboxOptions, label);
  hideRecords(resolved.config);
  const workdir = path.resolve(cwd ?? process.cwd());
  const execPath = (options as ForkOptions).execPath ?? process.execPath;
  const spec = build(execPath);
  resolved.config.expose = [...resolved.config.expose, ...autoExpose(workdir, execPath, spec.expose)];
  const commandEnv = env ?? process.env;
  resolved.config.restoreEnv = { PWD: commandEnv.PWD ?? null, ...(spec.preload ? { NODE_OPTIONS: commandEnv.NODE_OPTIONS ?? null } : {}) };
  const measured = SandboxCgroup.create(resolved.limits);
  const plain = stage0(resolved.config, resolved.identity, spec.command);
  const { file, args } = measured.cgroup ? measured.cgroup.wrap(plain, stage0Tools().sh) : plain;
  const preload = spec.preload ? { NODE_OPTIONS: withPreload(commandEnv.NODE_OPTIONS) } : {};

  const child = spawnProcess(file, args, {
    cwd: workdir,
    env: { ...commandEnv, ...preload, [CONFIG_ENV]: JSON.stringify(resolved.config) },
    stdio: spec.stdio,
    serialization: spec.serialization,
  }) as SandboxProcess;
  const registration = new Registration(newSandboxId(), { command: spec.what, hostname: resolved.config.hostname, network: resolved.config.network });
  if (child.pid !== undefined) registration.anchor(child.pid);
  child.once('exit', () => registration.remove());
  return supervise(child, resolved.config.hostname, resolved.timeout, registration, beforeTeardown, resolved.limits.stats ? measured : undefined, measured.cgroup, resolved.config.tmpfs.map((t) => t.path));
}


function procUsage(cpuTime: number | undefined, missing: string[]): SandboxUsage {
  return cpuTime === undefined ? { missing: [...missing, 'CPU time: the sandbox was killed before its command ended, and it has no cgroup'] } : { cpuTime, missing };
}

/** `stats`: usage is reported (from `cgroup` if there is one, else what /proc tells, `stats.missing` saying what is not). */
function supervise(
  child: SandboxProcess,
  hostname: string,
  timeout: number | undefined,
  registration: Registration,
  beforeTeardown: SpawnOptions['beforeTeardown'],
  stats?: { missing: string[] },
  cgroup?: SandboxCgroup,
  tmpfsMounts: string[] = [],
): SandboxProcess {
  const sockets = child.stdio as unknown as Socket[];
  const control = sockets[CONTROL_FD];
  let leftovers: Leftover[] = [];
  let timedOut = false;
  let atTimeout: string | undefined;
  let fullTmpfs: FullTmpfs[] = [];
  let reapedCpu: number | undefined;
  let settleReady!: (error?: Error) => void;
  const ready = new Promise<void>((resolve, reject) => {
    settleReady = (error) => (error ? reject(error) : resolve());
  });
  ready.catch(() => {}); // callers that never look at `ready` must not crash on an unhandled rejection

  const stage0Kill = () => killStage0(child.pid);
  const mainPid = (): number | undefined => commandOf(child.pid ?? -1);

  const onMessage = (message: ControlMessage | undefined) => {
    if (message?.type === 'ready') settleReady();
    else if (message?.type === 'error') settleReady(setupFailure(message.error));
    else if (message?.type === 'exit') {
      if (stats && !cgroup) reapedCpu = reapedCpuTime(initOf(child.pid!));
      fullTmpfs = fullTmpfsOf(initOf(child.pid!), tmpfsMounts);
      const ack = () => {
        leftovers = sandboxProcesses(child.pid!);
        if (leftovers.length > 0) child.emit('leftovers', leftovers);
        control.write('\n');
      };
      const held = beforeTeardown?.(message.status);
      if (held) void held.then(ack, ack);
      else ack();
    }
  };
  for (const socket of [sockets[SETUP_FD], control]) {
    socket.on('error', () => {});
    onLines(socket, (line) => onMessage(parseControlLine(line)));
  }

  const timer =
    timeout === undefined
      ? undefined
      : setTimeout(() => {
          timedOut = true;
          atTimeout = whatItIsDoing(mainPid());
          fullTmpfs = fullTmpfsOf(initOf(child.pid!), tmpfsMounts);
          leftovers = sandboxProcesses(child.pid!);
          stage0Kill();
        }, timeout);

  const exited = new Promise<SandboxExit>((resolve) => {
    const finish = (code: number | null, signal: NodeJS.Signals | null) => {
      if (timer) clearTimeout(timer);
      // Only takes effect if the setup never reported (ready and error settle it first).
      settleReady(
        new StartError(
          signal
            ? `the sandbox was killed by ${signal} before its setup finished`
            : `the sandbox exited with status ${code} before its setup finished; run 'nsbox doctor' to see whether this host allows sandboxes`,
        ),
      );
      const measured = cgroup ? cgroup.finish() : Promise.resolve({ usage: stats && procUsage(reapedCpu, stats.missing), limitsReached: undefined });
      void measured.then(({ usage, limitsReached }) =>
        resolve({ code, signal, timedOut, ...(atTimeout ? { atTimeout } : {}), ...(fullTmpfs.length ? { fullTmpfs } : {}), leftovers, ...(usage ? { usage } : {}), ...(limitsReached ? { limitsReached } : {}) }),
      );
    };
    child.once('exit', finish);
    child.once('error', (error) => {
      settleReady(new StartError(`could not start the sandbox: ${error.message}`));
      if (child.exitCode === null && child.pid === undefined) {
        void (cgroup ? cgroup.finish() : Promise.resolve()).then(() => resolve({ code: null, signal: null, timedOut, leftovers }));
      }
    });
  });

  child.kill = (signal: NodeJS.Signals | number = 'SIGTERM') => {
    if (signal === 'SIGKILL' || signal === 9) return stage0Kill();
    return signalProcess(mainPid(), signal);
  };

  const handles = () => [...child.stdio, child.channel].filter((h): h is NonNullable<typeof h> & { ref?(): void; unref?(): void } => !!h);
  const refChild = child.ref.bind(child);
  const unrefChild = child.unref.bind(child);
  return Object.assign(child, {
    hostname,
    id: registration.id,
    annotate: (annotation: Annotation) => registration.update(annotation),
    unref() {
      unrefChild();
      for (const handle of handles()) handle.unref?.();
    },
    ref() {
      refChild();
      for (const handle of handles()) handle.ref?.();
    },
    ready,
    exited,
    processes: () => sandboxProcesses(child.pid!),
    activity: () => whatItIsDoing(commandOf(child.pid!)),
    destroy() {
      if (child.exitCode === null && child.signalCode === null) {
        const command = commandOf(child.pid!);
        // An adapter destroys a worker's sandbox once its file is done, before the worker ends.
        fullTmpfs = fullTmpfsOf(initOf(child.pid!), tmpfsMounts);
        leftovers = sandboxProcesses(child.pid!).filter((p) => p.hostPid !== command);
        if (leftovers.length > 0) child.emit('leftovers', leftovers);
        stage0Kill();
      }
      return exited;
    },
  });
}

/** Runs `command` with `args` as the init's child in a new sandbox, in the spirit of child_process.spawn. */
export function spawn(command: string, args: readonly string[] = [], options: SpawnOptions = {}, label: OptionLabel = configLabel): SandboxProcess {
  if (typeof command !== 'string' || command.length === 0) throw new OptionError('command', command, 'expected a command to run');
  // A Node command takes the setup as a preload, like fork(): one Node start instead of two.
  const node = isNode(command, options.env ?? process.env);
  return launch(options, label, (execPath) => ({
    command: node ? [command, ...args] : [execPath, EXEC_ENTRY, '--', command, ...args],
    what: [command, ...args].join(' '),
    stdio: normalizeStdio(options.stdio, ['pipe', 'pipe', 'pipe']),
    preload: node,
    expose: node && path.isAbsolute(command) ? [path.dirname(command)] : [],
  }));
}

/**
 * A command that is Node itself takes the setup as a preload. A `node` that is a script (a package
 * manager's shim, which runs the real Node as its child) goes through the exec stage instead: the
 * preload would run in a grandchild of the init, where the guard rightly refuses.
 */
function isNode(command: string, env: NodeJS.ProcessEnv): boolean {
  const name = path.basename(command);
  const file = which(command, env.PATH);
  if (!file) return false;
  const node = name === 'node' || name === 'nodejs' || realpathOrNull(file) === realpathOrNull(process.execPath);
  return node && isBinary(file);
}


function isBinary(file: string): boolean {
  try {
    const fd = fs.openSync(file, 'r');
    try {
      const head = Buffer.alloc(4);
      fs.readSync(fd, head, 0, 4, 0);
      return head.equals(Buffer.from([0x7f, 0x45, 0x4c, 0x46]));
    } finally {
      fs.closeSync(fd);
    }
  } catch {
    return false;
  }
}

/** Runs a Node module in a new sandbox with an IPC channel, in the spirit of child_process.fork. */
export function fork(modulePath: string, args: readonly string[] = [], options: ForkOptions = {}, label: OptionLabel = configLabel): SandboxProcess {
  if (typeof modulePath !== 'string' || modulePath.length === 0) throw new OptionError('modulePath', modulePath, 'expected the path of a module to run');
  const fallback: ('pipe' | 'inherit' | 'ipc')[] = options.silent ? ['pipe', 'pipe', 'pipe', 'ipc'] : ['inherit', 'inherit', 'inherit', 'ipc'];
  const stdio = normalizeStdio(options.stdio, fallback);
  if (!(stdio as unknown[]).includes('ipc')) throw new OptionError("option 'stdio'", options.stdio, "fork needs an 'ipc' entry");
  const absolute = path.resolve(options.cwd ?? process.cwd(), modulePath);
  return launch(options, label, (execPath) => ({
    command: [execPath, ...(options.execArgv ?? process.execArgv), absolute, ...args],
    stdio,
    preload: true,
    what: [absolute, ...args].join(' '),
    serialization: options.serialization,
    expose: [path.dirname(absolute), moduleScope(absolute), ...(options.loads ?? []).flatMap((file) => [path.dirname(file), moduleScope(file)])],
  }));
}

/**
 * The same process shape with no sandbox at all: for an adapter whose host cannot create sandboxes
 * and whose user chose onUnsupported: 'warn' (the adapter has said so, loudly).
 */
export function forkUnsandboxed(modulePath: string, args: readonly string[] = [], options: ForkOptions = {}): SandboxProcess {
  const child = forkProcess(modulePath, args, {
    cwd: options.cwd,
    env: options.env,
    execPath: options.execPath,
    execArgv: options.execArgv,
    stdio: options.stdio,
    serialization: options.serialization,
  }) as SandboxProcess;
  const exited = new Promise<SandboxExit>((resolve) =>
    child.once('exit', (code, signal) => resolve({ code, signal, timedOut: false, leftovers: [] })),
  );
  const refChild = child.ref.bind(child);
  const unrefChild = child.unref.bind(child);
  return Object.assign(child, {
    hostname: os.hostname(),
    // Not a sandbox: nothing for `nsbox ps` to list.
    id: '',
    annotate: () => {},
    ready: Promise.resolve(),
    exited,
    processes: () => [],
    activity: () => whatItIsDoing(child.pid),
    unref: unrefChild,
    ref: refChild,
    destroy() {
      if (child.exitCode === null && child.signalCode === null) child.kill('SIGKILL');
      return exited;
    },
  });
}
