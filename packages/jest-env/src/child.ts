// Runs inside the sandbox: one test file through Jest's own test worker (the user's jest-runner copy),
// so transforms, environments, snapshots, coverage and console capture are Jest's.
import fs from 'node:fs';
import type { ChildMessage, RunRequest } from './protocol.js';

const jestRunnerEntry = process.argv[2];
// Required at boot, before the file is known: this is most of a Jest worker's start-up, and the
// runner boots the next sandbox while the current file runs.
const testWorker = require(require('node:path').join(require('node:path').dirname(jestRunnerEntry), 'testWorker.js')) as {
  setup(data: { serializableResolvers: unknown[] }): Promise<void>;
  worker(request: { config: unknown; globalConfig: unknown; path: string; context: unknown }): Promise<unknown>;
};

function reply(message: ChildMessage): Promise<void> {
  return new Promise((resolve) => process.send!(message, () => resolve()));
}

process.on('message', async (message: RunRequest) => {
  if (message?.type !== 'run') return;
  try {
    const resolver = JSON.parse(fs.readFileSync(message.resolverFile, 'utf8'));
    await testWorker.setup({ serializableResolvers: [resolver] });
    const result = await testWorker.worker({ config: message.config, globalConfig: message.globalConfig, path: message.path, context: message.context });
    await reply({ type: 'result', result });
  } catch (error) {
    const e = error as Error;
    await reply({ type: 'failure', error: { message: e?.message ?? String(error), stack: e?.stack } });
  }
  process.disconnect();
});
