// The runner's side of jest-worker's child protocol. The sandbox runs jest-worker's own child entry
// (processChild.js), forked with the options jest-worker and jest-runner give a stock worker, so the
// test's process has the stock shape: `node processChild.js` (argv of length 2), the Jest process's
// execArgv without --inspect/--debug, the same env additions (JEST_WORKER_ID, FORCE_COLOR) and stdio.
import path from 'node:path';
import { createRequire } from 'node:module';
import type { ForkOptions, SandboxProcess, ZygoteProcess } from 'nsbox';
import {
  CHILD_MESSAGE_CALL,
  CHILD_MESSAGE_CALL_SETUP,
  CHILD_MESSAGE_INITIALIZE,
  PARENT_MESSAGE_CLIENT_ERROR,
  PARENT_MESSAGE_CUSTOM,
  PARENT_MESSAGE_OK,
  PARENT_MESSAGE_SETUP_ERROR,
  type SetupData,
} from './protocol.js';

export interface StockWorker {
  /** jest-worker's processChild.js. */
  entry: string;
  /** What jest-worker's ChildProcessWorker passes to child_process.fork, with jest-runner's forkOptions. */
  forkOptions(slot: number): ForkOptions;
  /** jest-worker's unpacking of messages it packed for transfer (Jest 30's messageParent packs them). */
  unpack(message: unknown): unknown;
}

/** The jest-worker that the given jest-runner uses: its child entry and its colour decision. */
export function stockWorker(jestRunnerEntry: string): StockWorker {
  const workerMain = createRequire(jestRunnerEntry).resolve('jest-worker');
  const fromWorker = createRequire(workerMain);
  const build = path.dirname(workerMain);
  const entry = [path.join(build, 'processChild.js'), path.join(build, 'workers', 'processChild.js')].find((file) => {
    try {
      return fromWorker.resolve(file) === file;
    } catch {
      return false;
    }
  });
  if (!entry) throw new Error(`jest-environment-nsbox: cannot find jest-worker's processChild.js next to ${workerMain}`);
  // jest-worker sets FORCE_COLOR for its children from its own supports-color (which reads --color /
  // --no-color in Jest's argv, FORCE_COLOR and the terminal): ask the same copy.
  const colour = (fromWorker('supports-color') as { stdout: unknown }).stdout ? { FORCE_COLOR: '1' } : {};
  let deserialize: ((data: unknown) => unknown) | undefined;
  return {
    entry,
    forkOptions: (slot) => ({
      cwd: process.cwd(),
      env: { ...process.env, JEST_WORKER_ID: String(slot), ...colour },
      execArgv: process.execArgv.filter((arg) => !/^--(debug|inspect)/.test(arg)),
      serialization: 'json',
      stdio: ['pipe', 'pipe', 'pipe', 'ipc'],
    }),
    unpack(message) {
      if (message === null || typeof message !== 'object' || !('__STRUCTURED_CLONE_SERIALIZED__' in message)) return message;
      deserialize ??= (fromWorker('@ungap/structured-clone') as { deserialize: (data: unknown) => unknown }).deserialize;
      return deserialize((message as unknown as { data: unknown }).data);
    },
  };
}

type Reply = [number, ...unknown[]];

/** A sandbox booted by the core's fork() (fresh mode) or forked from a warm zygote. */
export type WorkerProcess = SandboxProcess | ZygoteProcess;

/**
 * One sandboxed jest-worker child. Its setup (the module loading ahead of the file) starts at once; its
 * answer is kept, since it may come before anyone waits for it.
 */
export class JestWorkerClient {
  onCustomMessage: (message: [string, unknown]) => void = () => {};
  private readonly setupDone: Promise<void>;
  private pending: { resolve(result: unknown): void; reject(error: Error): void } | undefined;

  constructor(
    readonly process: WorkerProcess,
    module: string,
    setup: SetupData,
    private readonly stock: StockWorker,
  ) {
    let settleSetup!: { resolve(): void; reject(error: Error): void };
    this.setupDone = new Promise<void>((resolve, reject) => (settleSetup = { resolve, reject }));
    this.setupDone.catch(() => {});
    this.pending = { resolve: () => settleSetup.resolve(), reject: (error) => settleSetup.reject(error) };
    process.on('message', (message: Reply) => this.receive(message));
    this.send([CHILD_MESSAGE_INITIALIZE, false, module, [setup]]);
    this.send([CHILD_MESSAGE_CALL_SETUP]);
  }

  /** Runs one test file through jest-runner's testWorker in the child. */
  async run(request: unknown): Promise<unknown> {
    await this.setupDone;
    return new Promise((resolve, reject) => {
      this.pending = { resolve, reject };
      this.send([CHILD_MESSAGE_CALL, false, 'worker', [request]]);
    });
  }

  /** A child that died (or never started) is reported by its exit and its sandbox's `ready`, not here. */
  private send(message: unknown[]): void {
    this.process.send(message, () => {});
  }

  private receive(message: Reply): void {
    if (!Array.isArray(message)) return;
    const [tag, ...rest] = message;
    if (tag === PARENT_MESSAGE_CUSTOM) {
      this.onCustomMessage(this.stock.unpack(rest[0]) as [string, unknown]);
      return;
    }
    const pending = this.pending;
    this.pending = undefined;
    if (tag === PARENT_MESSAGE_OK) pending?.resolve(this.stock.unpack(rest[0]));
    else if (tag === PARENT_MESSAGE_CLIENT_ERROR || tag === PARENT_MESSAGE_SETUP_ERROR) {
      const [, errorMessage, stack] = rest as [string, string, string | undefined];
      const error = new Error(errorMessage);
      error.stack = stack ?? errorMessage;
      pending?.reject(error);
    }
  }
}
