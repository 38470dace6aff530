// Zygote mode: the prepare module of the warm process that every test file's sandbox is forked from.
// It does once, for the whole run, what a fresh sandbox does for each file before the file is known
// (child.ts's setup), and warms the project's transformers with real files, so each forked file
// starts with Jest's modules loaded, the resolver built and the transformers ready.
import { createRequire } from 'node:module';
import fs from 'node:fs';
import path from 'node:path';
import { setup } from './child.js';
import { ZYGOTE_SETUP_ENV, type SetupData } from './protocol.js';

interface ScriptTransformer {
  transform(filename: string, options: Record<string, unknown>, source?: string): unknown;
}

async function warmTransformers(data: SetupData): Promise<void> {
  if (!data.warm || data.warm.files.length === 0) return;
  const { config } = JSON.parse(fs.readFileSync(data.resolverFile, 'utf8')) as { config: unknown };
  const { createScriptTransformer } = createRequire(data.jestRunner)('@jest/transform') as {
    createScriptTransformer(config: unknown): Promise<ScriptTransformer>;
  };
  const transformer = await createScriptTransformer(config);
  const options = {
    collectCoverage: data.warm.coverage,
    collectCoverageFrom: [],
    coverageProvider: 'babel',
    isInternalModule: false,
    supportsDynamicImport: true,
    supportsExportNamespaceFrom: true,
    supportsStaticESM: false,
    supportsTopLevelAwait: true,
  };
  for (const file of data.warm.files) {
    try {
      transformer.transform(file, options);
    } catch {
      // Only a head start: the file's own run reports what fails.
    }
  }
}

const WARM_TEST = path.join(__dirname, '..', 'warm', 'zygote-warm-up.js');

/**
 * Test environments that only build a global object, with no side effect outside this process: the
 * warm runs may use them as they are configured. Any other environment (a project's own, which may
 * start servers or write files, and this process is not in a sandbox) is left out, and the warm runs
 * use jest-environment-node, which nsbox's own environment extends.
 */
const KNOWN_ENVIRONMENTS = [/[\\/]jest-environment-node[\\/]/, /[\\/]jest-environment-jsdom[\\/]/, /[\\/]@happy-dom[\\/]jest-environment[\\/]/];

function warmEnvironment(config: Record<string, unknown>, fromRunner: NodeJS.Require): { testEnvironment: string; testEnvironmentOptions: unknown } {
  const configured = String(config.testEnvironment);
  if (KNOWN_ENVIRONMENTS.some((known) => known.test(configured))) {
    const { nsbox: _nsbox, ...options } = (config.testEnvironmentOptions ?? {}) as Record<string, unknown>;
    return { testEnvironment: configured, testEnvironmentOptions: options };
  }
  return { testEnvironment: fromRunner.resolve('jest-environment-node'), testEnvironmentOptions: {} };
}

/**
 * Runs nsbox's own trivial test file through jest-runner's test worker, twice: V8 compiles functions
 * on first call, so without this every forked file would compile Jest's per-file code again, and the
 * environment's too (jsdom's is most of a jsdom file's start). The project's setup files are left
 * out (they may have side effects, and this process is not in a sandbox); so is its environment
 * unless it is a known one (above).
 */
async function warmJest(data: SetupData): Promise<void> {
  if (!data.warm) return;
  const { config } = JSON.parse(fs.readFileSync(data.resolverFile, 'utf8')) as { config: Record<string, unknown> };
  const fromRunner = createRequire(data.jestRunner);
  const testWorker = fromRunner(path.join(path.dirname(data.jestRunner), 'testWorker.js')) as { worker(request: unknown): Promise<unknown> };
  const request = {
    config: { ...config, setupFiles: [], setupFilesAfterEnv: [], ...warmEnvironment(config, fromRunner), injectGlobals: true },
    globalConfig: { ...(data.warm.globalConfig as object), collectCoverage: false, silent: true, updateSnapshot: 'none', testNamePattern: undefined },
    path: WARM_TEST,
    context: {},
  };
  // The zygote has no parent to talk to: jest-worker's messages of the warm run (per-test events) go nowhere.
  const send = Object.getOwnPropertyDescriptor(process, 'send');
  process.send = (() => true) as typeof process.send;
  try {
    for (let i = 0; i < 2; i++) await testWorker.worker(request);
  } finally {
    if (send) Object.defineProperty(process, 'send', send);
    else delete (process as { send?: unknown }).send;
  }
}

async function prepareZygote(): Promise<void> {
  const data = JSON.parse(process.env[ZYGOTE_SETUP_ENV]!) as SetupData;
  delete process.env[ZYGOTE_SETUP_ENV];
  await setup(data);
  await warmTransformers(data);
  try {
    await warmJest(data);
  } catch {
    // Only a head start.
  }
}

// nsbox's zygote awaits the module's default export, which for CommonJS is module.exports.
export = prepareZygote;
