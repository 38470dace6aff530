// One Vitest worker in one nsbox sandbox (main-process side). The worker itself is Vitest's stock
// forks entry, born inside the sandbox by nsbox's fork().
import fs from 'node:fs';
import path from 'node:path';
import type { PoolOptions, PoolWorker } from 'vitest/node';
import { fileURLToPath } from 'node:url';
import { diagnose, fork, forkUnsandboxed, fullTmpfsLines, keepSandbox, notSandboxedLine, sayOnInterrupt, startZygote, unsandboxedWarning, type Leftover, type OnUnsupported, type SandboxOptions, type SandboxProcess, type UnsupportedHostError, type UsageReport, type Zygote, type ZygoteProcess } from 'nsbox';
import { ZYGOTE_ENTRY_ENV } from './zygote-prepare.js';

const ZYGOTE_PREPARE = path.join(path.dirname(fileURLToPath(import.meta.url)), 'zygote-prepare.js');

/** Shared by every worker of one pool: once a host is found unable to sandbox, it stays so. */
export interface Fallback {
  policy: OnUnsupported;
  /** Set where nsbox can never sandbox (not Linux): why. */
  platform?: string;
  unsandboxed: Promise<boolean> | undefined;
  /** The host's cause and fix, probed once per pool. */
  diagnosis?: Promise<UnsupportedHostError>;
  /**
   * One sandbox booted ahead per project while a file runs: the next file's worker takes it instead
   * of waiting for a sandbox and Node to start. Idle spares do not keep Vitest running.
   */
  spares?: Map<unknown, SandboxProcess>;
  /** The Vitest instances whose close destroys the idle spares. */
  closing?: WeakSet<object>;
  /** Zygote mode: one warm zygote per project, and whether it failed to start (then: fresh sandboxes). */
  zygotes?: Map<unknown, { zygote: Zygote; failure: Promise<Error | undefined> }>;
  zygoteWarned?: boolean;
  /** keepOnFailure, in milliseconds. */
  keep?: number;
  /**
   * One promise per started worker, settled by its stop(), which lists the leftovers and waits for a
   * kept sandbox: a zygote's close (which kills every sandbox it forked, and which Vitest runs at the
   * same time as the pool's close) waits for them all.
   */
  running?: Set<Promise<void>>;
  /** Every file's figures and the limits that acted. */
  report: UsageReport;
}

/** A file's worker process: born in a fresh sandbox, or forked from the project's zygote. */
type WorkerProcess = SandboxProcess | ZygoteProcess;

/**
 * Who decides whether a sandbox is kept when its worker exits: the pool worker that adopted it (a
 * spare is booted by one and adopted by another).
 */
const keepHooks = new WeakMap<WorkerProcess, { keep?: () => Promise<void> | undefined }>();

/** The workers with files now, for an interrupted run (Ctrl-C, SIGTERM) to say what each one's process was doing. */
const busy = new Map<NsboxPoolWorker, number>();
let sayingOnInterrupt = false;

function sayWhatRunsOnInterrupt(): void {
  if (sayingOnInterrupt) return;
  sayingOnInterrupt = true;
  sayOnInterrupt(() => [...busy].flatMap(([worker, started]) => worker.interruptLine(started) ?? []));
}

interface Streams {
  stdout: NodeJS.WritableStream & { setMaxListeners(n: number): unknown; getMaxListeners(): number };
  stderr: NodeJS.WritableStream & { setMaxListeners(n: number): unknown; getMaxListeners(): number };
}

export class NsboxPoolWorker implements PoolWorker {
  readonly name = 'nsbox';
  // Vitest writes transformed modules under its tmpDir; the sandbox sees that directory (see expose).
  readonly cacheFs = true;
  private child: WorkerProcess | undefined;
  private readonly files = new Set<string>();
  private readonly entry: string;
  private readonly streams: Streams;
  private timedOut = false;
  private kept: Promise<void> | undefined;
  private stopped: (() => void) | undefined;
  private slot: number | undefined;
  private readonly ended = new WeakSet<WorkerProcess>();

  constructor(
    private readonly options: PoolOptions,
    private readonly sandbox: SandboxOptions,
    private readonly fallback: Fallback,
  ) {
    this.entry = path.resolve(options.distPath, 'workers/forks.js');
    const logger = options.project.vitest.logger as unknown as { outputStream: Streams['stdout']; errorStream: Streams['stderr'] };
    this.streams = { stdout: logger.outputStream, stderr: logger.errorStream };
  }

  /** What the worker must see although a private tmpfs covers it: Vitest's transform cache, above all. */
  private expose(): string[] {
    const project = this.options.project as unknown as { tmpDir?: string; config: { root: string } };
    const coverage = (this.options.project.vitest.config as { coverage?: { enabled?: boolean; reportsDirectory?: string } }).coverage;
    // Vitest 5 workers write their raw coverage themselves, under the reports directory.
    const written = [project.tmpDir, coverage?.enabled ? coverage.reportsDirectory : undefined].filter((p): p is string => !!p);
    for (const dir of written) fs.mkdirSync(dir, { recursive: true });
    return [...(this.sandbox.expose ?? []), project.config.root, this.options.distPath, ...written];
  }

  async start(): Promise<void> {
    if (this.child) return;
    if (this.fallback.platform) {
      this.fallback.unsandboxed ??= Promise.resolve().then(() => {
        this.streams.stderr.write(notSandboxedLine('Vitest'));
        return true;
      });
    }
    const unsandboxed = await this.fallback.unsandboxed;
    const zygote = unsandboxed ? undefined : await this.readyZygote();
    const child = unsandboxed ? this.startUnsandboxed() : this.adopt(zygote ? this.forkFromZygote(zygote) : (this.takeSpare() ?? this.startSandboxed()));
    if (!unsandboxed && !zygote) this.bootSpare();
    this.child = child;
    this.pipeOutput(child);
    if (zygote || this.fallback.keep !== undefined) {
      const running = (this.fallback.running ??= new Set());
      const done = new Promise<void>((resolve) => (this.stopped = resolve));
      running.add(done);
      void done.then(() => running.delete(done));
    }
    if (!unsandboxed) {
      try {
        await child.ready;
      } catch (failure) {
        this.child = undefined;
        try {
          await this.handleUnsupported(failure as Error);
        } catch (error) {
          this.stopped?.(); // this worker never runs: nothing for a zygote's close to wait for
          throw error;
        }
      }
    }
  }

  private takeSpare(): SandboxProcess | undefined {
    const spare = this.fallback.spares?.get(this.options.project);
    this.fallback.spares?.delete(this.options.project);
    if (!spare) return undefined;
    if (spare.exitCode === null && spare.signalCode === null) return spare;
    return undefined;
  }

  private bootSpare(): void {
    const spares = this.fallback.spares;
    if (!spares || spares.has(this.options.project)) return;
    const vitest = this.options.project.vitest;
    if (!this.fallback.closing?.has(vitest)) {
      (this.fallback.closing ??= new WeakSet()).add(vitest);
      vitest.onClose(async () => {
        const idle = [...spares.values()];
        spares.clear();
        await Promise.all(idle.map((spare) => spare.destroy()));
      });
    }
    const spare = this.startSandboxed();
    spare.unref();
    spare.ready.catch(() => spares.delete(this.options.project));
    spares.set(this.options.project, spare);
  }

  /** The per-file timeout counts from here, not from the boot of a spare sandbox. */
  private adopt(child: WorkerProcess): WorkerProcess {
    child.ref();
    child.once('exit', () => this.ended.add(child));
    const hook = keepHooks.get(child);
    if (hook) hook.keep = () => this.keepIfFailed(child);
    child.on('leftovers', (leftovers: Leftover[]) => this.reportLeftovers(leftovers));
    // A limit that acted is said, and the figures over the threshold are printed, as the sandbox ends.
    void child.exited.then((exit) => {
      const lines = [
        ...this.fallback.report.record(this.fileList(), exit),
        ...fullTmpfsLines(this.fileList(), exit.fullTmpfs ?? [], "vitest-pool-nsbox option 'tmpfsSize'", this.sandbox.memoryMax !== undefined).map((line) => `[nsbox] ${line}`),
      ];
      if (lines.length > 0) this.streams.stderr.write(`\n${lines.join('\n')}\n`);
    });
    const { timeout } = this.sandbox;
    if (timeout !== undefined) {
      const timer = setTimeout(() => {
        const keep = this.fallback.keep;
        const doing = child.activity();
        const at = doing ? `\n[nsbox] at the timeout, its test process ${doing}` : '';
        this.streams.stderr.write(`\n[nsbox] ${this.fileList()} timed out after ${timeout} ms; ${keep === undefined ? 'its whole sandbox was killed' : 'its sandbox is kept'}${at}\n`);
        this.timedOut = true;
        if (keep === undefined) void child.destroy();
        else void this.keep(child, `timed out after ${timeout} ms`);
      }, timeout);
      child.once('exit', () => clearTimeout(timer));
    }
    return child;
  }

  /**
   * Zygote mode: the project's zygote (started by the first worker), once it takes requests; undefined
   * in fresh mode, or when it could not start: then the run says why once and uses fresh sandboxes.
   */
  private async readyZygote(): Promise<Zygote | undefined> {
    const zygotes = this.fallback.zygotes;
    if (!zygotes) return undefined;
    let entry = zygotes.get(this.options.project);
    if (!entry) {
      const zygote = startZygote({
        prepare: ZYGOTE_PREPARE,
        identity: this.sandbox.identity,
        execArgv: this.options.execArgv,
        cwd: process.cwd(),
        env: { ...(this.options.env as NodeJS.ProcessEnv), [ZYGOTE_ENTRY_ENV]: this.entry },
      });
      zygote.unref();
      entry = { zygote, failure: zygote.ready.then(() => undefined, (error: Error) => error) };
      zygotes.set(this.options.project, entry);
      const project = this.options.project;
      project.vitest.onClose(async () => {
        zygotes.delete(project);
        await Promise.all(this.fallback.running ?? []);
        await zygote.close();
      });
    }
    const failure = await entry.failure;
    if (!failure) return entry.zygote;
    if (!this.fallback.zygoteWarned) {
      this.fallback.zygoteWarned = true;
      this.streams.stderr.write(
        `[nsbox] the warm zygote could not start, so every file starts Node in a fresh sandbox instead (slower): ${failure.message.split('\n')[0]}\n` +
          `[nsbox] set the pool option mode: 'fresh' to choose that mode and silence this line\n`,
      );
    }
    return undefined;
  }

  /**
   * Starts a worker's sandbox, in either mode, with what both share: the sandbox options, the stock
   * forks pool's settings, and the keep-on-failure hook.
   */
  private sandboxed<T extends WorkerProcess>(start: (shared: ReturnType<NsboxPoolWorker['sharedSettings']>) => T): T {
    const hook: { keep?: () => Promise<void> | undefined } = {};
    const child = start(this.sharedSettings(hook));
    keepHooks.set(child, hook);
    return child;
  }

  private sharedSettings(hook: { keep?: () => Promise<void> | undefined }) {
    const { timeout: _perFile, ...sandbox } = this.sandbox;
    return {
      ...sandbox,
      expose: this.expose(),
      // As the stock forks pool: the worker starts in Vitest's own working directory.
      cwd: process.cwd(),
      env: this.options.env as NodeJS.ProcessEnv,
      serialization: 'advanced' as const,
      // The worker may exit by itself once Vitest stopped it: a failed file's sandbox is kept from there.
      beforeTeardown: () => hook.keep?.(),
    };
  }

  /** The zygote's Node, flags and identity are the project's. */
  private forkFromZygote(zygote: Zygote): ZygoteProcess {
    return this.sandboxed(({ identity: _identity, ...shared }) => zygote.fork(this.entry, [], { ...shared, silent: true }));
  }

  private startSandboxed(): SandboxProcess {
    return this.sandboxed((shared) => fork(this.entry, [], { ...shared, execArgv: this.options.execArgv, stdio: ['pipe', 'pipe', 'pipe', 'ipc'] }));
  }

  private startUnsandboxed(): SandboxProcess {
    return forkUnsandboxed(this.entry, [], {
      env: this.options.env as NodeJS.ProcessEnv,
      execArgv: this.options.execArgv,
      stdio: ['pipe', 'pipe', 'pipe', 'ipc'],
      serialization: 'advanced',
    });
  }

  private async handleUnsupported(failure: Error): Promise<void> {
    const error = await (this.fallback.diagnosis ??= diagnose(failure));
    if (this.fallback.policy === 'error') throw error;
    this.fallback.unsandboxed ??= Promise.resolve().then(() => {
      this.streams.stderr.write(unsandboxedWarning(error));
      return true;
    });
    await this.fallback.unsandboxed;
    for (const spare of this.fallback.spares?.values() ?? []) void spare.destroy();
    this.fallback.spares?.clear();
    this.child = this.startUnsandboxed();
    this.pipeOutput(this.child);
  }

  private pipeOutput(child: WorkerProcess): void {
    for (const [from, to] of [[child.stdout, this.streams.stdout], [child.stderr, this.streams.stderr]] as const) {
      if (!from) continue;
      to.setMaxListeners(to.getMaxListeners() + 1);
      from.pipe(to, { end: false });
    }
  }

  private unpipeOutput(child: WorkerProcess): void {
    for (const [from, to] of [[child.stdout, this.streams.stdout], [child.stderr, this.streams.stderr]] as const) {
      if (!from) continue;
      from.unpipe(to);
      to.setMaxListeners(Math.max(0, to.getMaxListeners() - 1));
    }
  }

  /** For an interrupted run: the files, for how long, and what the worker's process was doing. */
  interruptLine(started: number): string | undefined {
    if (!this.child) return undefined;
    const doing = this.child.activity();
    const seconds = ((Date.now() - started) / 1000).toFixed(1);
    return `[nsbox] interrupted while ${this.fileList()} ran (${seconds} s): its test process ${doing ?? 'had ended already (the interrupt reached it too)'}`;
  }

  private fileList(): string {
    return [...this.files].map((f) => path.relative(this.options.project.config.root, f)).join(', ') || '(no test file)';
  }

  private reportLeftovers(leftovers: Leftover[]): void {
    const files = this.fileList();
    const list = leftovers.map((p) => `  pid ${p.pid}: ${p.command}`).join('\n');
    this.streams.stderr.write(
      `\n[nsbox] ${files} left ${leftovers.length} process${leftovers.length === 1 ? '' : 'es'} running; killed:\n${list}\n`,
    );
  }

  /** Vitest has already exchanged 'stop'/'stopped' with the worker: nothing in the sandbox needs more time. */
  async stop(): Promise<void> {
    busy.delete(this);
    const child = this.child;
    if (!child) return this.stopped?.();
    this.child = undefined;
    if (!this.ended.has(child)) await (this.kept ?? this.keepIfFailed(child));
    await child.destroy();
    this.unpipeOutput(child);
    this.stopped?.();
  }

  /** Whether Vitest recorded a failure for a file of this worker (its state is what its reporters read). */
  private failed(): boolean {
    const state = (this.options.project.vitest as unknown as { state?: { getFiles(keys?: string[]): { result?: { state?: string } }[] } }).state;
    return state?.getFiles([...this.files]).some((file) => file.result?.state === 'fail') ?? false;
  }

  private keepIfFailed(child: WorkerProcess): Promise<void> | undefined {
    // An unsandboxed worker (onUnsupported: 'warn') has no sandbox to keep.
    if (this.timedOut || this.fallback.keep === undefined || !child.id || !this.failed()) return undefined;
    return this.keep(child, 'failed');
  }

  private keep(child: WorkerProcess, reason: string): Promise<void> {
    // Vitest ends a run that takes longer than teardownTimeout to close (process.exit), and the kept
    // sandbox dies with it: the line says how long it really stays.
    const teardown = (this.options.project.vitest.config as { teardownTimeout?: number }).teardownTimeout;
    const capped = teardown !== undefined && teardown < this.fallback.keep!;
    this.kept = keepSandbox(child, {
      duration: capped ? teardown : this.fallback.keep!,
      what: this.fileList(),
      reason,
      note: capped ? `Vitest's teardownTimeout caps it: raise that to keep it longer` : undefined,
      write: (line) => this.streams.stderr.write(line),
    });
    return this.kept;
  }

  send(message: Parameters<PoolWorker['send']>[0]): void {
    const request = message as { type?: string; context?: { files?: { filepath: string }[] } };
    if ((request.type === 'run' || request.type === 'collect') && request.context?.files) {
      for (const file of request.context.files) this.files.add(file.filepath);
      if (!busy.has(this)) busy.set(this, Date.now());
      sayWhatRunsOnInterrupt();
      this.child?.annotate({ files: [...this.files], runner: 'vitest', slot: this.slot });
    }
    // The worker slot, as the worker sees it in VITEST_POOL_ID.
    const poolId = (message as { poolId?: unknown }).poolId;
    if ((message as { type?: string }).type === 'start' && typeof poolId === 'number') this.slot = poolId;
    this.process.send(message);
  }

  on(event: string, callback: (arg: any) => void): void {
    this.process.on(event, callback);
  }

  off(event: string, callback: (arg: any) => void): void {
    // Vitest also detaches from a worker whose start failed.
    this.child?.off(event, callback);
  }

  deserialize(data: unknown): unknown {
    return data;
  }

  private get process(): WorkerProcess {
    if (!this.child) throw new Error('[vitest-pool-nsbox] the worker was stopped or never started');
    return this.child;
  }
}
