// The module that jest-worker's own child entry (processChild.js) loads in the sandbox, in place of
// jest-runner's testWorker: the process is then shaped exactly as a stock Jest worker (argv, execArgv,
// main module, message protocol). It wraps testWorker with what a sandbox per file needs: everything
// loaded ahead while the previous file still runs, and nothing the file wrote lost when its sandbox is
// killed right after the result.
import fs from 'node:fs';
import path from 'node:path';
import type { SetupData } from './protocol.js';

const SANDBOX_MARK = Symbol.for('nsbox.sandbox');

interface TestWorker {
  setup(data: { serializableResolvers: unknown[] }): Promise<void> | void;
  worker(request: unknown): Promise<unknown>;
}

let testWorker: TestWorker | undefined;
let prepared: Promise<void> | undefined;
type NodeModule = { enableCompileCache?: (dir: string) => unknown; flushCompileCache?: () => void };

/**
 * Everything a file's run needs before the file is known, done while the previous file still runs:
 * the project's resolver, and Jest's modules (which the test worker would load lazily, on the
 * critical path). This, not the sandbox, is most of a fresh Jest process's start-up.
 */
async function prepare(data: SetupData): Promise<void> {
  // Node 22+ keeps V8's compiled code of Jest's modules on disk, shared by every sandbox of the project.
  (require('node:module') as NodeModule).enableCompileCache?.(data.compileCache);
  if (data.unsandboxed) Object.defineProperty(process, SANDBOX_MARK, { value: Object.freeze({ unsandboxed: true }) });
  testWorker = require(path.join(path.dirname(data.jestRunner), 'testWorker.js')) as TestWorker;
  await testWorker.setup({ serializableResolvers: [JSON.parse(fs.readFileSync(data.resolverFile, 'utf8'))] });
  for (const module of data.preload) {
    try {
      require(module);
    } catch {
      // Only a head start: the run loads what it really needs, and reports what fails.
    }
  }
}

/** Resolves once everything written to the stream so far has left this process. */
function drained(stream: NodeJS.WriteStream): Promise<void> {
  return new Promise((resolve) => (stream.writableLength === 0 ? resolve() : stream.write('', () => resolve())));
}

/** Called by jest-worker in the sandbox; in zygote mode the zygote already did it, and the fork inherited the result. */
export function setup(data: SetupData): Promise<void> {
  prepared ??= prepare(data);
  return prepared;
}

export async function worker(request: unknown): Promise<unknown> {
  await prepared;
  const result = await testWorker!.worker(request);
  // Node writes the compile cache at exit, which a sandbox killed as soon as its file is done never reaches.
  (require('node:module') as NodeModule).flushCompileCache?.();
  await Promise.all([drained(process.stdout), drained(process.stderr)]);
  return result;
}
