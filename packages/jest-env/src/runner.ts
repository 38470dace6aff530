// `runner: 'jest-environment-nsbox/runner'`: every test file runs in a fresh nsbox sandbox, through
// Jest's own test worker inside it. This module only schedules files onto sandboxes: spawning, setup
// and teardown live in the nsbox core.
import fs from 'node:fs';
import path from 'node:path';
import crypto from 'node:crypto';
import { createRequire } from 'node:module';
import type { Config } from '@jest/types';
import type { Test, TestEvents, TestRunnerContext, TestRunnerOptions, TestWatcher } from 'jest-runner';
import type { Leftover, SandboxExit, SandboxOptions, StatsOptions, UnsupportedHostError, UsageReport, Zygote } from 'nsbox';
import { JestWorkerClient, stockWorker, type StockWorker } from './worker-client.js';
import { ZYGOTE_SETUP_ENV, type SetupData } from './protocol.js';

type Nsbox = typeof import('nsbox');
type Listener = (args: any) => unknown;

const CHILD = path.join(__dirname, 'child.js');
const ZYGOTE_PREPARE = path.join(__dirname, 'zygote-prepare.js');

/**
 * 'zygote' (default): every file's sandbox is forked from a warm process that loaded Jest, the
 * project's resolver and its transformers once per run. 'fresh': every file's sandbox starts Node.
 */
export type Mode = 'zygote' | 'fresh';
const MODES: readonly Mode[] = ['zygote', 'fresh'];

/** The jest-runner that the running Jest itself uses, so the sandbox runs the same copy. */
function jestRunnerEntry(rootDir: string): string {
  const core = Object.keys(require.cache).find((file) => /[\\/]@jest[\\/]core[\\/]build[\\/]/.test(file));
  const from = core ?? path.join(rootDir, 'package.json');
  return createRequire(from).resolve('jest-runner');
}

type NsboxConfig = SandboxOptions & StatsOptions & { onUnsupported?: unknown; mode?: unknown; keepOnFailure?: unknown };
const label = (option: string) => `testEnvironmentOptions.nsbox.${option}`;

function nsboxConfigOf(config: Config.ProjectConfig): NsboxConfig {
  return (config.testEnvironmentOptions as { nsbox?: NsboxConfig } | undefined)?.nsbox ?? {};
}

/** The sandbox's options; the per-file timeout is the runner's, counted from the file's start. */
function optionsOf(config: Config.ProjectConfig): SandboxOptions {
  const { onUnsupported: _policy, timeout: _timeout, mode: _mode, keepOnFailure: _keep, statsOver, statsJson, ...options } = nsboxConfigOf(config);
  // The adapter's figures need the sandboxes to measure.
  return statsOver !== undefined || statsJson !== undefined ? { ...options, stats: true } : options;
}

function modeOf(config: Config.ProjectConfig, OptionError: typeof import('nsbox').OptionError): Mode {
  const mode = nsboxConfigOf(config).mode ?? 'zygote';
  if (!MODES.includes(mode as Mode)) throw new OptionError(label('mode'), mode, `expected ${MODES.map((m) => `'${m}'`).join(' or ')}`);
  return mode as Mode;
}

function describeExit(code: number | null, signal: string | null): string {
  if (signal) return `was killed by ${signal}`;
  if (code === 137) return 'was killed by SIGKILL (it killed itself, or the kernel did when it ran out of memory)';
  if (code !== null && code > 128) return `was killed by signal ${code - 128}`;
  return `exited with code ${code} (process.exit() called?)`;
}

/** An error whose stack is its message: a frame of this runner would say nothing about the test file. */
function plainError(message: string): Error {
  const error = new Error(message);
  error.stack = message;
  return error;
}

export default class NsboxTestRunner {
  readonly supportsEventEmitters = true;
  readonly isSerial = false;
  private readonly listeners = new Map<string, Set<Listener>>();
  private diagnosis: Promise<UnsupportedHostError> | undefined;
  private teardowns: Promise<unknown>[] = [];
  private unsandboxed = false;
  private zygoteWarned = false;
  /** Per project config: the files' figures and the limits that acted. */
  private readonly reports = new Map<string, UsageReport>();
  /** The files running now, for an interrupted run to say what each one's process was doing. */
  private readonly running = new Map<string, { process: { activity(): string | undefined }; started: number }>();

  constructor(
    private readonly globalConfig: Config.GlobalConfig,
    private readonly context: TestRunnerContext,
  ) {}

  on<Name extends keyof TestEvents>(eventName: Name, listener: (eventData: TestEvents[Name]) => unknown): () => void {
    const set = this.listeners.get(eventName) ?? new Set();
    this.listeners.set(eventName, set);
    set.add(listener);
    return () => set.delete(listener);
  }

  private async emit(eventName: string, args: unknown): Promise<void> {
    for (const listener of this.listeners.get(eventName) ?? []) await listener(args);
  }

  async runTests(tests: Test[], watcher: TestWatcher, options: TestRunnerOptions): Promise<void> {
    if (tests.length === 0) return;
    const nsbox: Nsbox = await import('nsbox');
    for (const test of tests) {
      nsbox.resolveOptions({ ...optionsOf(test.context.config), timeout: nsboxConfigOf(test.context.config).timeout }, label);
      nsbox.resolveOnUnsupported(nsboxConfigOf(test.context.config).onUnsupported, label('onUnsupported'));
      modeOf(test.context.config, nsbox.OptionError);
      nsbox.parseKeepDuration(label('keepOnFailure'), nsboxConfigOf(test.context.config).keepOnFailure);
      const { statsOver, statsJson } = nsboxConfigOf(test.context.config);
      if (!this.reports.has(test.context.config.id)) this.reports.set(test.context.config.id, new nsbox.UsageReport({ statsOver, statsJson }, label));
    }
    // Not Linux: nsbox can never sandbox here. The files run as Jest would run them without nsbox,
    // said in one line; or, for a config that set onUnsupported: 'error', the run fails at once.
    const platform = nsbox.platformProblem();
    if (platform) {
      if (tests.some((test) => nsbox.resolveOnUnsupported(nsboxConfigOf(test.context.config).onUnsupported, '') === 'error')) {
        throw plainError(`nsbox: ${platform}, and ${label('onUnsupported')} is 'error'. Fix: run the tests on Linux (a VM, a container or CI), or leave onUnsupported unset to run them unsandboxed here`);
      }
      if (!this.unsandboxed) process.stderr.write(nsbox.notSandboxedLine('Jest'));
      this.unsandboxed = true;
    }
    const runId = crypto.randomBytes(6).toString('hex');
    const resolverFiles = this.writeResolvers(tests, runId);
    const entry = jestRunnerEntry(this.globalConfig.rootDir);
    // Every file gets its own sandbox, in band or not. Jest's in-band heuristic (one file, a small fast
    // suite) exists to save worker start-ups, which a sandbox per file pays anyway: only an explicit
    // -i / --maxWorkers=1 makes files run one at a time.
    void options.serial;
    const slots = this.globalConfig.runInBand ? 1 : Math.max(1, this.globalConfig.maxWorkers);
    const queue = [...tests];
    const spares = new Map<number, { sandbox: Booted; configId: string }>();
    type Booted = ReturnType<typeof boot>;

    const preload = this.preloadList(entry);
    const stock = stockWorker(entry);
    const setupData = (test: Test, unsandboxed: boolean): SetupData => {
      const config = test.context.config;
      const transformers = config.transform.map(([, transformer]) => transformer);
      return {
        jestRunner: entry,
        resolverFile: resolverFiles.get(config.id)!,
        preload: unsandboxed ? [] : [...preload, config.testEnvironment, config.testRunner, ...transformers],
        compileCache: path.join(config.cacheDirectory, 'nsbox-compile-cache'),
        unsandboxed,
      };
    };
    const exposed = (config: Config.ProjectConfig) => [
      ...(optionsOf(config).expose ?? []),
      config.rootDir,
      config.cacheDirectory,
      path.dirname(entry),
      path.dirname(resolverFiles.get(config.id)!),
    ];

    // Zygote mode: one warm zygote per project config for this run (a watch-mode rerun gets new ones,
    // so a changed transformer or config is never served from an old process).
    const zygotes = new Map<string, { zygote: Zygote; failure: Promise<Error | undefined>; failed: boolean }>();
    const zygoteFor = (test: Test) => {
      const config = test.context.config;
      let entryFor = zygotes.get(config.id);
      if (!entryFor) {
        const warmFiles = config.transform.flatMap(([pattern]) => tests.find((t) => t.context.config.id === config.id && new RegExp(pattern).test(t.path))?.path ?? []);
        const data: SetupData = {
          ...setupData(test, false),
          warm: {
            files: [...new Set(warmFiles)],
            coverage: this.globalConfig.collectCoverage && this.globalConfig.coverageProvider === 'babel',
            globalConfig: this.globalConfig,
          },
        };
        // The zygote loads what every forked file then inherits (Jest's matcher utils, chalk and
        // supports-color read the environment as they load): it starts as a stock worker does, with
        // the environment jest-worker gives worker 1 (FORCE_COLOR included); each fork gets its own.
        const worker = stock.forkOptions(1);
        const zygote = nsbox.startZygote({
          prepare: ZYGOTE_PREPARE,
          identity: optionsOf(config).identity,
          execArgv: worker.execArgv,
          cwd: worker.cwd,
          env: { ...worker.env, [ZYGOTE_SETUP_ENV]: JSON.stringify(data) },
        });
        const failure = zygote.ready.then(
          () => undefined,
          (error: Error) => {
            entryFor!.failed = true;
            if (!this.zygoteWarned) {
              this.zygoteWarned = true;
              process.stderr.write(
                `[nsbox] the warm zygote could not start, so every file starts Node in a fresh sandbox instead (slower): ${error.message.split('\n')[0]}\n` +
                  `[nsbox] set testEnvironmentOptions.nsbox.mode: 'fresh' to choose that mode and silence this line\n`,
              );
            }
            return error;
          },
        );
        entryFor = { zygote, failure, failed: false };
        zygotes.set(config.id, entryFor);
      }
      return entryFor;
    };

    const bootFresh = (test: Test, slot: number): JestWorkerClient => {
      const config = test.context.config;
      fs.mkdirSync(config.cacheDirectory, { recursive: true });
      const process_ = nsbox.fork(stock.entry, [], { ...optionsOf(config), expose: exposed(config), ...stock.forkOptions(slot), loads: [CHILD] });
      // `nsbox ps` names the slot of a sandbox booted ahead, before it has a file.
      process_.annotate({ runner: 'jest', slot });
      return new JestWorkerClient(process_, CHILD, setupData(test, false), stock);
    };

    /** Boots the file's sandbox: forked from the project's zygote, or (fresh mode, or no zygote) a new Node. */
    const boot = (test: Test, slot: number): { client: JestWorkerClient; zygote?: Promise<Error | undefined> } => {
      const config = test.context.config;
      if (modeOf(config, nsbox.OptionError) === 'fresh') return { client: bootFresh(test, slot) };
      const { zygote, failure, failed } = zygoteFor(test);
      // Once the zygote is known not to start, files go straight to fresh sandboxes.
      if (failed) return { client: bootFresh(test, slot) };
      const { identity: _identity, ...options } = optionsOf(config);
      const { execArgv: _execArgv, stdio: _stdio, ...fork } = stock.forkOptions(slot);
      const process_ = zygote.fork(stock.entry, [], { ...options, expose: exposed(config), ...fork, silent: true });
      process_.annotate({ runner: 'jest', slot });
      return { client: new JestWorkerClient(process_, CHILD, setupData(test, false), stock), zygote: failure };
    };

    const takeSandbox = (test: Test, slot: number): Booted => {
      const spare = spares.get(slot);
      spares.delete(slot);
      if (spare && spare.configId === test.context.config.id) return spare.sandbox;
      if (spare) void spare.sandbox.client.process.destroy();
      return boot(test, slot);
    };

    const prepareNext = (slot: number) => {
      const next = queue[0];
      if (next && !spares.has(slot) && !watcher.isInterrupted()) spares.set(slot, { sandbox: boot(next, slot), configId: next.context.config.id });
    };

    /** A sandbox that failed to start: the host's cause and fix, then the file's policy. */
    const unsupported = async (test: Test, slot: number, failure: Error): Promise<JestWorkerClient> => {
      this.diagnosis ??= nsbox.diagnose(failure);
      const error = await this.diagnosis;
      if (nsbox.resolveOnUnsupported(nsboxConfigOf(test.context.config).onUnsupported, '') === 'error') throw plainError(`nsbox: ${error.message}`);
      if (!this.unsandboxed) {
        this.unsandboxed = true;
        process.stderr.write(nsbox.unsandboxedWarning(error));
      }
      return this.startUnsandboxed(nsbox, stock, slot, setupData(test, true));
    };

    const runOne = async (test: Test, slot: number): Promise<void> => {
      const booted = this.unsandboxed ? undefined : takeSandbox(test, slot);
      // Boot the next file's sandbox while this one runs.
      if (booted) prepareNext(slot);
      await this.emit('test-file-start', [test]);
      try {
        let child = booted?.client ?? this.startUnsandboxed(nsbox, stock, slot, setupData(test, true));
        if (booted) {
          let failure = await child.process.ready.then(() => undefined, (error: Error) => error);
          if (failure && booted.zygote && (await booted.zygote)) {
            // The zygote itself could not start (said once): this file gets a fresh sandbox.
            child = bootFresh(test, slot);
            failure = await child.process.ready.then(() => undefined, (error: Error) => error);
          }
          if (failure) {
            void child.process.destroy();
            child = await unsupported(test, slot, failure);
          }
        }
        const result = await this.runInChild(nsbox, child, test, slot);
        await this.emit('test-file-success', [test, result]);
      } catch (error) {
        await this.emit('test-file-failure', [test, error]);
      }
    };

    const worker = async (slot: number) => {
      while (queue.length > 0) {
        if (watcher.isInterrupted()) return;
        const test = queue.shift()!;
        await runOne(test, slot);
      }
    };

    const stopSaying = nsbox.sayOnInterrupt(() =>
      [...this.running].map(([relative, { process: running, started }]) => {
        const doing = running.activity();
        const seconds = ((Date.now() - started) / 1000).toFixed(1);
        return `[nsbox] interrupted while ${relative} ran (${seconds} s): its test process ${doing ?? 'had ended already (the interrupt reached it too)'}`;
      }),
    );
    try {
      await Promise.all(Array.from({ length: Math.min(slots, tests.length) }, (_, i) => worker(i + 1)));
    } finally {
      stopSaying();
      await Promise.all([...spares.values()].map((spare) => spare.sandbox.client.process.destroy()));
      await Promise.all(this.teardowns.splice(0));
      await Promise.all([...zygotes.values()].map(({ zygote }) => zygote.close()));
      for (const file of resolverFiles.values()) fs.rmSync(file, { force: true });
    }
  }

  /** Writes each project's module map once per run; every sandbox reads it instead of receiving it. */
  private writeResolvers(tests: Test[], runId: string): Map<string, string> {
    const files = new Map<string, string>();
    for (const test of tests) {
      const config = test.context.config;
      if (files.has(config.id)) continue;
      fs.mkdirSync(config.cacheDirectory, { recursive: true });
      const file = path.join(config.cacheDirectory, `nsbox-resolver-${runId}-${files.size}.json`);
      fs.writeFileSync(file, JSON.stringify({ config, serializableModuleMap: test.context.moduleMap.toJSON() }));
      files.set(config.id, file);
    }
    return files;
  }

  /** onUnsupported: 'warn' only: the same worker, without a sandbox; the environment is told so. */
  private startUnsandboxed(nsbox: Nsbox, stock: StockWorker, slot: number, setup: SetupData): JestWorkerClient {
    return new JestWorkerClient(nsbox.forkUnsandboxed(stock.entry, [], stock.forkOptions(slot)), CHILD, setup, stock);
  }

  /** Jest's modules that a test worker loads lazily during its first file, resolved from its jest-runner. */
  private preloadList(entry: string): string[] {
    const from = createRequire(entry);
    const names = ['jest-runtime', '@jest/transform', '@jest/console', 'jest-environment-node', 'jest-snapshot', 'jest-message-util'];
    return names.flatMap((name) => {
      try {
        return [from.resolve(name)];
      } catch {
        return [];
      }
    });
  }

  private async runInChild(nsbox: Nsbox, client: JestWorkerClient, test: Test, slot: number): Promise<unknown> {
    const sandbox = client.process;
    sandbox.annotate({ files: [test.path], runner: 'jest', slot });
    const keep = nsbox.parseKeepDuration(label('keepOnFailure'), nsboxConfigOf(test.context.config).keepOnFailure);
    let failure: string | undefined;
    let gone = false;
    sandbox.once('exit', () => (gone = true));
    sandbox.stdout?.pipe(process.stdout, { end: false });
    sandbox.stderr?.pipe(process.stderr, { end: false });
    const relative = path.relative(this.globalConfig.rootDir, test.path);
    this.running.set(relative, { process: sandbox, started: Date.now() });
    sandbox.on('leftovers', (leftovers: Leftover[]) => {
      const list = leftovers.map((p) => `  pid ${p.pid}: ${p.command}`).join('\n');
      process.stderr.write(`\n[nsbox] ${relative} left ${leftovers.length} process${leftovers.length === 1 ? '' : 'es'} running; killed:\n${list}\n`);
    });
    client.onCustomMessage = ([event, payload]) => void this.emit(event, payload);

    // Every file's sandbox ends here (its own end or the destroy() below): a limit that acted is said,
    // and the figures over the threshold are printed, as soon as it has.
    const report = this.reports.get(test.context.config.id);
    const exited: Promise<SandboxExit> = sandbox.exited;
    void exited.then((exit) => {
      const lines = [
        ...(report?.record(relative, exit) ?? []),
        ...nsbox.fullTmpfsLines(relative, exit.fullTmpfs ?? [], label('tmpfsSize'), optionsOf(test.context.config).memoryMax !== undefined).map((line) => `[nsbox] ${line}`),
      ];
      if (lines.length > 0) process.stderr.write(`${lines.join('\n')}\n`);
    });
    let timer: NodeJS.Timeout | undefined;
    const ended = new Promise<never>((_, reject) => {
      void exited.then(({ code, signal, limitsReached }) => {
        clearTimeout(timer);
        // An OOM kill says which limit it was, not only "killed by SIGKILL".
        const [limit] = nsbox.limitMessages(relative, limitsReached && { memory: limitsReached.memory }, code === 137 || signal === 'SIGKILL');
        reject(plainError(limit ? `nsbox: ${limit}, before it reported a result` : `nsbox: the process running ${relative} ${describeExit(code, signal)} before it reported a result`));
      });
      const timeout = nsboxConfigOf(test.context.config).timeout;
      if (timeout !== undefined) {
        timer = setTimeout(() => {
          const running = Math.max(1, sandbox.processes().length);
          const doing = sandbox.activity();
          failure = `timed out after ${timeout} ms`;
          const fate = keep === undefined ? 'its whole sandbox was killed' : 'its sandbox is kept, see below';
          const at = doing ? `\nAt the timeout, its test process ${doing}.` : '';
          reject(plainError(`nsbox: ${relative} timed out after ${timeout} ms; ${fate} (${running} process${running === 1 ? '' : 'es'}).${at}`));
        }, timeout);
      }
    });
    ended.catch(() => {});
    const request = {
      path: test.path,
      config: test.context.config,
      globalConfig: this.globalConfig,
      context: {
        ...this.context,
        changedFiles: this.context.changedFiles && [...this.context.changedFiles],
        sourcesRelatedToTestsInChangedFiles: this.context.sourcesRelatedToTestsInChangedFiles && [...this.context.sourcesRelatedToTestsInChangedFiles],
      },
    };
    try {
      const result = (await Promise.race([client.run(request), ended])) as { numFailingTests?: number; testExecError?: unknown } | undefined;
      if (result && ((result.numFailingTests ?? 0) > 0 || result.testExecError)) failure = 'failed';
      return result;
    } finally {
      clearTimeout(timer);
      this.running.delete(relative);
      // Leftovers are listed at once; the slot need not wait for the kernel to reap the sandbox. A
      // failed file's sandbox may be kept instead: the run then waits for it at its end.
      if (keep !== undefined && failure && !gone && sandbox.id) this.teardowns.push(nsbox.keepSandbox(sandbox, { duration: keep, what: relative, reason: failure }));
      else this.teardowns.push(sandbox.destroy());
    }
  }
}

export { NsboxTestRunner };
