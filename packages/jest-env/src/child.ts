// Runs inside the sandbox: one test file through Jest's own test worker (the user's jest-runner copy),
// so transforms, environments, snapshots, coverage and console capture are Jest's.
import fs from 'node:fs';
import path from 'node:path';
import type { ChildMessage, ParentMessage } from './protocol.js';

const [jestRunnerEntry, compileCache] = process.argv.slice(2);
// Node 22+ can keep V8's compiled code of Jest's modules on disk, shared by every sandbox of the project.
const nodeModule = require('node:module') as { enableCompileCache?: (dir: string) => unknown; flushCompileCache?: () => void };
nodeModule.enableCompileCache?.(compileCache);
/** Node writes the cache at exit, which a sandbox killed as soon as its file is done never reaches. */
const flushCompileCache = () => nodeModule.flushCompileCache?.();
const testWorker = require(path.join(path.dirname(jestRunnerEntry), 'testWorker.js')) as {
  setup(data: { serializableResolvers: unknown[] }): Promise<void> | void;
  worker(request: { config: unknown; globalConfig: unknown; path: string; context: unknown }): Promise<unknown>;
};

function reply(message: ChildMessage): Promise<void> {
  return new Promise((resolve) => process.send!(message, () => resolve()));
}

/**
 * Everything a file's run needs before the file is known, done while the previous file still runs:
 * the project's resolver, and Jest's modules (which the test worker would load lazily, on the
 * critical path). This, not the sandbox, is most of a fresh Jest process's start-up.
 */
async function prepare(resolverFile: string, preload: string[]): Promise<void> {
  await testWorker.setup({ serializableResolvers: [JSON.parse(fs.readFileSync(resolverFile, 'utf8'))] });
  for (const module of preload) {
    try {
      require(module);
    } catch {
      // Only a head start: the run loads what it really needs, and reports what fails.
    }
  }
}

let prepared: Promise<void> | undefined;

process.on('message', async (message: ParentMessage) => {
  if (message?.type === 'prepare') {
    prepared = prepare(message.resolverFile, message.preload);
    prepared.catch(() => {});
    return;
  }
  if (message?.type !== 'run') return;
  try {
    await prepared;
    const result = await testWorker.worker({ config: message.config, globalConfig: message.globalConfig, path: message.path, context: message.context });
    flushCompileCache();
    await reply({ type: 'result', result });
  } catch (error) {
    const e = error as Error;
    await reply({ type: 'failure', error: { message: e?.message ?? String(error), stack: e?.stack } });
  }
  process.disconnect();
});
