// `pool: nsbox(options)`: every Vitest test file runs in its own nsbox sandbox. This package only maps
// Vitest's PoolWorker interface onto the core's fork(); spawning, setup and teardown live in nsbox.
import type { PoolOptions, PoolRunnerInitializer, PoolWorker } from 'vitest/node';
import { resolveOnUnsupported, resolveOptions, type OnUnsupported, type SandboxOptions } from 'nsbox';
import { NsboxPoolWorker, type Fallback } from './worker.js';

export interface NsboxPoolOptions extends SandboxOptions {
  /**
   * What to do when this host cannot create sandboxes: 'error' (default) fails the run with the cause
   * and the fix; 'warn' runs the files unsandboxed, with a loud warning.
   */
  onUnsupported?: OnUnsupported;
}

const poolLabel = (option: string) => `vitest-pool-nsbox option '${option}'`;

export default function nsbox(options: NsboxPoolOptions = {}): PoolRunnerInitializer {
  const { onUnsupported, ...sandboxOptions } = options ?? {};
  const policy = resolveOnUnsupported(onUnsupported, poolLabel('onUnsupported'));
  // Fail at config load, not in the middle of a run, on a bad option.
  resolveOptions(sandboxOptions, poolLabel);
  const fallback: Fallback = { policy, unsandboxed: undefined };
  return {
    name: 'nsbox',
    createPoolWorker: (poolOptions: PoolOptions): PoolWorker => new NsboxPoolWorker(poolOptions, sandboxOptions, fallback),
  };
}

export { nsbox };
export type { OnUnsupported };
