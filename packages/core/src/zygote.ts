// The host side of a zygote: a warm Node process (inside/zygote.cts) that loads the caller's modules
// once and forks a sandbox per request, instead of starting Node per sandbox. The zygote is born
// through stage 0 (it dies with the caller); each sandbox is a fork of it with the same shape as one
// born through stage 0 (sandbox parent, init as PID 1, the file process as its child) and runs the
// same recipe. Each sandbox connects back to a unix socket of this process: its control connection,
// stdout, stderr and Node IPC channel.
import { spawn as spawnProcess, type ChildProcess } from 'node:child_process';
import { EventEmitter } from 'node:events';
import crypto from 'node:crypto';
import fs from 'node:fs';
import net, { type Socket } from 'node:net';
import path from 'node:path';
import { PassThrough, type Readable } from 'node:stream';
import { fileURLToPath } from 'node:url';
import { OptionError, StartError, setupFailure } from './errors.cjs';
import { onLines } from './lines.js';
import { IpcPeer, type Serialization } from './ipc.js';
import { commandOf, isRunning, sandboxProcesses, signalProcess, type Leftover } from './leftovers.js';
import { configLabel, resolveOptions, type SandboxOptions } from './options.js';
import {
  SANDBOX_ROLES, ZYGOTE_ENV, ZYGOTE_FD, parseControlLine, type ForkRequest, type Identity, type SandboxRole, type ZygoteConfig, type ZygoteMessage,
} from './protocol.cjs';
import { autoExpose, hideRecords, moduleScope, type SandboxExit } from './sandbox.js';
import { zygoteStage0 } from './stage0.js';
import { Registration, newSandboxId, type Annotation } from './registry.js';
import { SandboxCgroup, reapedCpuTime } from './cgroup.js';
import { whatItIsDoing } from './activity.js';
import { fullTmpfsOf, type FullTmpfs } from './tmpfs-full.js';

const here = path.dirname(fileURLToPath(import.meta.url));
const ZYGOTE_ENTRY = path.join(here, 'inside', 'zygote.cjs');

export interface ZygoteOptions {
  /** Modules the zygote loads before its first fork; each one's default export (CJS: module.exports) is awaited, and called first if it is a function. */
  prepare?: string | string[];
  /** 'caller' (default) or 'root', for every sandbox of this zygote (see SandboxOptions.identity). */
  identity?: Identity;
  /** Node to run; every forked sandbox runs this same Node. */
  execPath?: string;
  /** Node flags for the zygote, so for every sandbox (--single-threaded is added). Default: this process's. */
  execArgv?: string[];
  cwd?: string;
  env?: NodeJS.ProcessEnv;
}

/** Per sandbox: every sandbox option but identity, and a fork's own settings. */
export interface ZygoteForkOptions extends Omit<SandboxOptions, 'identity'> {
  cwd?: string;
  env?: NodeJS.ProcessEnv;
  serialization?: Serialization;
  /** As child_process.fork's: true gives `stdout` and `stderr` streams; false (default) copies them to this process's. */
  silent?: boolean;
  /** As spawn()'s: the sandbox stays as it is, once its file process ended, until the promise settles. */
  beforeTeardown?: (status: number) => Promise<unknown> | undefined;
}

/** A sandbox forked from a zygote: stdio, IPC and events in the spirit of a ChildProcess, with the sandbox controls. */
export interface ZygoteProcess extends EventEmitter {
  readonly hostname: string;
  /** What `nsbox ps` lists this sandbox as, and `nsbox exec` takes. */
  readonly id: string;
  /** Adds to what `nsbox ps` shows: the test files, the adapter and its worker slot. */
  annotate(annotation: Annotation): void;
  /** The file process's host pid, once the sandbox exists. */
  readonly pid: number | undefined;
  readonly stdout: Readable | null;
  readonly stderr: Readable | null;
  readonly connected: boolean;
  /** Resolves once the in-sandbox setup is done; rejects with SetupError or StartError. */
  readonly ready: Promise<void>;
  /** Resolves when the sandbox and everything in it is gone. */
  readonly exited: Promise<SandboxExit>;
  send(message: unknown, callback?: (error?: Error | null) => void): boolean;
  disconnect(): void;
  /** Signals the file process; SIGKILL takes down the whole sandbox. */
  kill(signal?: NodeJS.Signals | number): boolean;
  /** The processes running in the sandbox now, the init excluded, the file process included. */
  processes(): Leftover[];
  /** What the file process is doing now (its state, the call it waits in, its CPU time), for a timeout or an interrupt to say. */
  activity(): string | undefined;
  /** Kills every process of the sandbox at once, after listing what runs besides the file process. */
  destroy(): Promise<SandboxExit>;
  ref(): void;
  unref(): void;
}

export interface Zygote {
  /** Resolves when the zygote has loaded its modules and takes requests; rejects if it could not. */
  readonly ready: Promise<void>;
  /** The zygote's host pid. */
  readonly pid: number | undefined;
  /** Forks a sandbox that runs `modulePath` with `args`, as nsbox's fork() does. */
  fork(modulePath: string, args?: readonly string[], options?: ZygoteForkOptions): ZygoteProcess;
  /** Kills the zygote and every sandbox it forked; resolves when they are gone. */
  close(): Promise<void>;
  ref(): void;
  unref(): void;
}

class Sandbox extends EventEmitter implements ZygoteProcess {
  readonly stdout: Readable | null;
  readonly stderr: Readable | null;
  readonly ready: Promise<void>;
  readonly exited: Promise<SandboxExit>;
  private readonly ipc: IpcPeer;
  private readonly streams: Record<'stdout' | 'stderr', PassThrough>;
  private readonly sockets: Socket[] = [];
  private settleReady!: (error?: Error) => void;
  private resolveExited!: (exit: SandboxExit) => void;
  private parent: number | undefined;
  private init: number | undefined;
  private status: number | undefined;
  private leftovers: Leftover[] = [];
  private timedOut = false;
  private atTimeout: string | undefined;
  private fullTmpfs: FullTmpfs[] = [];
  private killRequested = false;
  private done = false;
  private timer: NodeJS.Timeout | undefined;
  private refed = true;
  private reapedCpu: number | undefined;

  constructor(
    readonly hostname: string,
    serialization: Serialization,
    silent: boolean,
    timeout: number | undefined,
    private readonly registration: Registration,
    private readonly beforeTeardown: ZygoteForkOptions['beforeTeardown'],
    /** As for a fresh sandbox: usage to report (the cgroup's, or /proc's where there is none) and the group, which the sandbox parent joins. */
    private readonly stats?: { missing: string[] },
    private readonly cgroup?: SandboxCgroup,
    private readonly tmpfsMounts: string[] = [],
  ) {
    super();
    this.ready = new Promise<void>((resolve, reject) => {
      let settled = false;
      this.settleReady = (error) => {
        if (settled) return;
        settled = true;
        if (error) reject(error);
        else resolve();
      };
    });
    this.ready.catch(() => {}); // callers that never look at `ready` must not crash on an unhandled rejection
    this.exited = new Promise((resolve) => (this.resolveExited = resolve));
    this.streams = { stdout: new PassThrough(), stderr: new PassThrough() };
    if (silent) {
      this.stdout = this.streams.stdout;
      this.stderr = this.streams.stderr;
    } else {
      this.stdout = this.stderr = null;
      this.streams.stdout.pipe(process.stdout, { end: false });
      this.streams.stderr.pipe(process.stderr, { end: false });
    }
    this.ipc = new IpcPeer(serialization);
    this.ipc.on('message', (message) => this.emit('message', message));
    this.ipc.on('disconnect', () => this.emit('disconnect'));
    this.ipc.on('error', (error) => this.emit('error', error));
    if (timeout !== undefined) {
      this.timer = setTimeout(() => {
        this.timedOut = true;
        this.atTimeout = this.activity();
        this.fullTmpfs = fullTmpfsOf(this.init, this.tmpfsMounts);
        this.leftovers = this.processes();
        this.killSandbox();
      }, timeout);
    }
  }

  get pid(): number | undefined {
    return this.parent === undefined ? undefined : commandOf(this.parent);
  }

  get id(): string {
    return this.registration.id;
  }

  annotate(annotation: Annotation): void {
    this.registration.update(annotation);
  }

  get connected(): boolean {
    return this.ipc.connected;
  }

  /** A connection from the sandbox, its header already read. */
  attach(role: SandboxRole, socket: Socket): void {
    this.sockets.push(socket);
    if (!this.refed) socket.unref();
    socket.on('error', () => {});
    if (role === 'stdout' || role === 'stderr') socket.pipe(this.streams[role]);
    else if (role === 'ipc') this.ipc.attach(socket);
    else this.control(socket);
    socket.resume();
  }

  private control(socket: Socket): void {
    onLines(socket, (line) => {
      const message = parseControlLine(line);
      if (message?.type === 'init') {
        this.parent = message.parent;
        this.init = message.init;
        this.registration.anchor(message.parent);
        if (this.killRequested) this.killSandbox();
      } else if (message?.type === 'ready') {
        this.settleReady();
      } else if (message?.type === 'error') {
        this.settleReady(setupFailure(message.error));
      } else if (message?.type === 'exit') {
        this.status = message.status;
        if (this.stats && !this.cgroup) this.reapedCpu = reapedCpuTime(this.init);
        this.fullTmpfs = fullTmpfsOf(this.init, this.tmpfsMounts);
        const ack = () => {
          this.leftovers = this.processes();
          if (this.leftovers.length > 0) this.emit('leftovers', this.leftovers);
          socket.write('\n');
        };
        const held = this.beforeTeardown?.(message.status);
        if (held) void held.then(ack, ack);
        else ack();
      }
      // 'end' (how the init ended) adds nothing the host does not know: an init that did not report
      // an exit status was killed, by the host or with the zygote.
    });
    // The sandbox parent holds this connection until its init is reaped, which is after everything in
    // the sandbox died: its close is the end of the sandbox.
    socket.on('close', () => this.finish());
  }

  /** The zygote could not fork this sandbox, or died before it did. */
  failed(message: string): void {
    this.settleReady(new StartError(`the zygote could not fork a sandbox: ${message}`));
    this.finish();
  }

  private finish(): void {
    if (this.done) return;
    this.done = true;
    this.registration.remove();
    if (this.timer) clearTimeout(this.timer);
    const killed = this.status === undefined;
    this.settleReady(new StartError(killed ? 'the sandbox was killed before its setup finished' : `the sandbox exited with status ${this.status} before its setup finished`));
    const exit: SandboxExit = { code: killed ? null : this.status!, signal: killed ? 'SIGKILL' : null, timedOut: this.timedOut, ...(this.atTimeout ? { atTimeout: this.atTimeout } : {}), ...(this.fullTmpfs.length ? { fullTmpfs: this.fullTmpfs } : {}), leftovers: this.leftovers };
    this.ipc.disconnect();
    const measured = this.cgroup
      ? this.cgroup.finish()
      : Promise.resolve({
          usage: this.stats && (this.reapedCpu === undefined
            ? { missing: [...this.stats.missing, 'CPU time: the sandbox was killed before its file ended, and it has no cgroup'] }
            : { cpuTime: this.reapedCpu, missing: this.stats.missing }),
          limitsReached: undefined,
        });
    void measured.then(({ usage, limitsReached }) => {
      if (usage) exit.usage = usage;
      if (limitsReached) exit.limitsReached = limitsReached;
      this.emit('exit', exit.code, exit.signal);
      this.resolveExited(exit);
    });
  }

  private killSandbox(): void {
    this.killRequested = true;
    if (this.init === undefined || this.done) return;
    try {
      // The init's death makes the kernel kill everything in its PID namespace; the zygote and other
      // sandboxes are not its descendants.
      process.kill(this.init, 'SIGKILL');
    } catch {
      // already gone
    }
  }

  send(message: unknown, callback?: (error?: Error | null) => void): boolean {
    return this.ipc.send(message, callback);
  }

  disconnect(): void {
    this.ipc.disconnect();
  }

  kill(signal: NodeJS.Signals | number = 'SIGTERM'): boolean {
    if (signal === 'SIGKILL' || signal === 9) {
      this.killSandbox();
      return !this.done;
    }
    return signalProcess(this.pid, signal);
  }

  processes(): Leftover[] {
    return this.parent === undefined ? [] : sandboxProcesses(this.parent);
  }

  activity(): string | undefined {
    return whatItIsDoing(this.pid);
  }

  destroy(): Promise<SandboxExit> {
    if (!this.done) {
      const command = this.pid;
      // An adapter destroys a worker's sandbox once its file is done, before the worker ends.
      this.fullTmpfs = fullTmpfsOf(this.init, this.tmpfsMounts);
      this.leftovers = this.processes().filter((p) => p.hostPid !== command);
      if (this.leftovers.length > 0) this.emit('leftovers', this.leftovers);
      this.killSandbox();
    }
    return this.exited;
  }

  ref(): void {
    this.refed = true;
    for (const socket of this.sockets) socket.ref();
    if (this.timer) this.timer.ref();
  }

  unref(): void {
    this.refed = false;
    for (const socket of this.sockets) socket.unref();
    if (this.timer) this.timer.unref();
  }
}

/** Starts a zygote. Its sandboxes can be requested at once; they are forked once it is ready. */
const ZYGOTE_DIR_PREFIX = 'nsbox-zygote-';
/**
 * Where the socket directories go: the fixed /tmp, not $TMPDIR, because every sandbox has a private
 * /tmp and so can never reach them, whatever TMPDIR says (a TMPDIR of /var/tmp or under the project
 * would be visible inside every sandbox).
 */
const ZYGOTE_DIR_PARENT = '/tmp';

/**
 * This process's Node flags minus those that choose what Node runs (`node -e CODE`, `-p`, `--test`,
 * ...): the zygote must run its own entry, not the caller's code again (it would start a zygote of
 * its own, and so on).
 */
function withoutEntryFlags(execArgv: readonly string[]): string[] {
  const entry = /^(-e|--eval|-p|--print|-pe|-i|--interactive|-c|--check|--test|--watch|--watch-path|--input-type)(=|$)/;
  const takesValue = ['-e', '--eval', '-p', '--print', '-pe', '--input-type', '--watch-path'];
  const kept: string[] = [];
  for (let i = 0; i < execArgv.length; i++) {
    if (!entry.test(execArgv[i])) kept.push(execArgv[i]);
    else if (takesValue.includes(execArgv[i])) i++; // and its value
  }
  return kept;
}

/** Socket directories of zygotes whose caller is gone (killed before close()): this user's only. */
function removeDeadZygoteDirs(): void {
  const tmp = ZYGOTE_DIR_PARENT;
  let entries: string[];
  try {
    entries = fs.readdirSync(tmp);
  } catch {
    return;
  }
  for (const entry of entries) {
    const pid = Number(new RegExp(`^${ZYGOTE_DIR_PREFIX}(\\d+)-`).exec(entry)?.[1]);
    if (!pid || isRunning(pid)) continue;
    const dir = path.join(tmp, entry);
    try {
      if (fs.lstatSync(dir).uid === process.getuid?.()) fs.rmSync(dir, { recursive: true, force: true });
    } catch {
      // gone meanwhile, or not ours to remove
    }
  }
}

export function startZygote(options: ZygoteOptions = {}): Zygote {
  const identity = options.identity ?? 'caller';
  if (identity !== 'caller' && identity !== 'root') throw new OptionError("zygote option 'identity'", identity, "expected 'caller' or 'root'");
  const prepare = (typeof options.prepare === 'string' ? [options.prepare] : options.prepare ?? []).map((p) => {
    const absolute = path.resolve(options.cwd ?? process.cwd(), p);
    if (!fs.existsSync(absolute)) throw new OptionError("zygote option 'prepare'", p, 'the module does not exist');
    return absolute;
  });
  const execPath = options.execPath ?? process.execPath;
  const execArgv = options.execArgv ?? withoutEntryFlags(process.execArgv);
  const cwd = path.resolve(options.cwd ?? process.cwd());

  // Only this user can reach the socket: the directory is mode 700, in the host's /tmp, which no
  // sandbox sees (the zygote connects for each sandbox before it forks it, outside any namespace). Its
  // name carries this process's pid, so that a caller killed before close() leaves a directory that
  // the next zygote start removes.
  removeDeadZygoteDirs();
  const dir = fs.mkdtempSync(path.join(ZYGOTE_DIR_PARENT, `${ZYGOTE_DIR_PREFIX}${process.pid}-`));
  // A caller that ends through process.exit() (Vitest on Ctrl-C) never gets to close(): its zygote
  // dies with it (death signal), and its socket directory goes here.
  const removeDir = () => fs.rmSync(dir, { recursive: true, force: true });
  process.once('exit', removeDir);
  const socketPath = path.join(dir, 'sandboxes.sock');
  /** Every sandbox not yet ended, for close(). */
  const sandboxes = new Set<Sandbox>();
  /**
   * The tokens that may still announce a connection, and the roles each has left. A token's four
   * connections are made by the zygote before it forks the sandbox, so by the time any code of it
   * runs, its token is spent: a token a sandbox finds in its memory (its own, or that of a sandbox
   * forked before it, which a fork inherits from the zygote's heap) announces nothing any more. (The
   * socket itself is out of every sandbox's reach: see ZYGOTE_DIR_PARENT.)
   */
  const tokens = new Map<string, { sandbox: Sandbox; roles: Set<string> }>();
  const byId = new Map<number, Sandbox>();
  const server = net.createServer((socket) => accept(socket));
  server.listen(socketPath);

  function accept(socket: Socket): void {
    let header = '';
    socket.on('error', () => {});
    const onData = (chunk: Buffer) => {
      const newline = chunk.indexOf(10);
      header += chunk.toString('utf8', 0, newline < 0 ? chunk.length : newline);
      if (newline < 0) {
        if (header.length > 100) socket.destroy();
        return;
      }
      socket.removeListener('data', onData);
      socket.pause();
      if (newline + 1 < chunk.length) socket.unshift(chunk.subarray(newline + 1));
      const [token, role] = header.split(' ');
      const expected = tokens.get(token);
      if (!expected?.roles.delete(role)) return void socket.destroy();
      if (expected.roles.size === 0) tokens.delete(token);
      expected.sandbox.attach(role as SandboxRole, socket);
    };
    socket.on('data', onData);
  }

  const config: ZygoteConfig = { socketPath, prepare, callerPid: process.pid, execArgv };
  const { file, args } = zygoteStage0(identity, [execPath, ...execArgv, '--single-threaded', ZYGOTE_ENTRY]);
  const zygote: ChildProcess = spawnProcess(file, args, {
    cwd,
    env: { ...(options.env ?? process.env), [ZYGOTE_ENV]: JSON.stringify(config) },
    // stdout and stderr are pipes as the sandboxes' own are (a module the zygote loads may cache
    // process.stdout, and a sandbox then writes through it); fd 3 is the request channel.
    stdio: ['ignore', 'pipe', 'pipe', 'pipe'],
  });
  zygote.stdout!.pipe(process.stdout, { end: false });
  zygote.stderr!.pipe(process.stderr, { end: false });
  const channel = (zygote.stdio as unknown as Socket[])[ZYGOTE_FD];
  channel.on('error', () => {});

  let settleReady!: (error?: Error) => void;
  const ready = new Promise<void>((resolve, reject) => {
    let settled = false;
    settleReady = (error) => {
      if (settled) return;
      settled = true;
      if (error) reject(error);
      else resolve();
    };
  });
  ready.catch(() => {});

  onLines(channel, (line) => {
    const message = JSON.parse(line) as ZygoteMessage;
    if (message.type === 'ready') settleReady();
    else if (message.type === 'error') settleReady(new StartError(`the zygote could not start: ${message.message}`));
    else if (message.type === 'failed') byId.get(message.id)?.failed(message.message);
    if (message.type === 'forked' || message.type === 'failed') byId.delete(message.id);
  });

  const gone = new Promise<void>((resolve) => {
    const end = (why: string) => {
      settleReady(new StartError(`the zygote ${why} before it was ready`));
      // Requests it never answered will not be forked; forked sandboxes die with it (their death signal)
      // and end through their own connections.
      for (const sandbox of byId.values()) sandbox.failed(`the zygote ${why}`);
      byId.clear();
      resolve();
    };
    zygote.once('exit', (code, signal) => end(signal ? `was killed by ${signal}` : `exited with status ${code}`));
    zygote.once('error', (error) => end(`could not start (${error.message})`));
  });

  let nextId = 1;
  let closed = false;
  const handles = () => [server, zygote, channel, zygote.stdout as Socket, zygote.stderr as Socket];
  return {
    ready,
    get pid() {
      return zygote.pid;
    },
    fork(modulePath, forkArgs = [], forkOptions = {}) {
      if (typeof modulePath !== 'string' || modulePath.length === 0) throw new OptionError('modulePath', modulePath, 'expected the path of a module to run');
      if (closed) throw new StartError('the zygote is closed');
      const { cwd: forkCwd, env, serialization = 'json', silent = false, beforeTeardown, ...sandboxOptions } = forkOptions;
      if ('identity' in sandboxOptions) {
        throw new OptionError("nsbox option 'identity'", (sandboxOptions as SandboxOptions).identity, "is fixed per zygote: pass it to startZygote()");
      }
      if (serialization !== 'json' && serialization !== 'advanced') throw new OptionError("option 'serialization'", serialization, "expected 'json' or 'advanced'");
      const resolved = resolveOptions({ ...sandboxOptions, identity }, configLabel);
      hideRecords(resolved.config);
      const workdir = path.resolve(forkCwd ?? cwd);
      const absolute = path.resolve(workdir, modulePath);
      resolved.config.expose = [
        ...resolved.config.expose,
        ...autoExpose(workdir, execPath, [path.dirname(absolute), moduleScope(absolute), ...prepare.map(moduleScope)]),
      ];
      const registration = new Registration(newSandboxId(), {
        command: [absolute, ...forkArgs].join(' '),
        hostname: resolved.config.hostname,
        network: resolved.config.network,
      });
      const measured = SandboxCgroup.create(resolved.limits);
      const sandbox = new Sandbox(resolved.config.hostname, serialization, silent, resolved.timeout, registration, beforeTeardown, resolved.limits.stats ? measured : undefined, measured.cgroup, resolved.config.tmpfs.map((t) => t.path));
      const request: ForkRequest = {
        type: 'fork',
        id: nextId++,
        token: crypto.randomBytes(16).toString('hex'),
        config: resolved.config,
        module: absolute,
        args: [...forkArgs],
        env: Object.fromEntries(Object.entries(env ?? process.env).filter((e): e is [string, string] => e[1] !== undefined)),
        cwd: workdir,
        serialization,
        ...(measured.cgroup ? { cgroupProcs: measured.cgroup.procs } : {}),
      };
      sandboxes.add(sandbox);
      tokens.set(request.token, { sandbox, roles: new Set(SANDBOX_ROLES) });
      byId.set(request.id, sandbox);
      void sandbox.exited.then(() => {
        sandboxes.delete(sandbox);
        tokens.delete(request.token);
      });
      if (zygote.exitCode !== null || zygote.signalCode !== null) sandbox.failed('the zygote is gone');
      else channel.write(`${JSON.stringify(request)}\n`);
      return sandbox;
    },
    async close() {
      closed = true;
      const all = [...sandboxes];
      // What close() awaits must keep the event loop alive, even for a caller that unref'd the zygote
      // (a pool that closes it last, when nothing else is left): else Node exits mid-await.
      for (const handle of handles()) handle.ref?.();
      for (const sandbox of all) sandbox.ref();
      zygote.kill('SIGKILL');
      await gone;
      await Promise.all(all.map((s) => s.exited));
      await new Promise<void>((resolve) => server.close(() => resolve()));
      process.off('exit', removeDir);
      removeDir();
    },
    ref() {
      for (const handle of handles()) handle.ref?.();
    },
    unref() {
      for (const handle of handles()) handle.unref?.();
    },
  };
}
