// `pool: nsbox(options)`: every Vitest test file runs in its own nsbox sandbox. This package only maps
// Vitest's PoolWorker interface onto the core's fork(); spawning, setup and teardown live in nsbox.
import type { PoolOptions, PoolRunnerInitializer, PoolWorker } from 'vitest/node';
import { OptionError, UnsupportedHostError, UsageReport, parseKeepDuration, platformProblem, resolveOnUnsupported, resolveOptions, type OnUnsupported, type SandboxOptions, type StatsOptions } from 'nsbox';
import { NsboxPoolWorker, type Fallback } from './worker.js';

export interface NsboxPoolOptions extends SandboxOptions, StatsOptions {
  /**
   * What to do when this host cannot create sandboxes: 'error' (default) fails the run with the cause
   * and the fix; 'warn' runs the files unsandboxed, with a loud warning.
   */
  onUnsupported?: OnUnsupported;
  /** Fresh mode: boot the next file's sandbox while a file runs (default true). */
  prewarm?: boolean;
  /**
   * 'zygote' (default): each file's sandbox is forked from a warm process that has Vitest's worker
   * modules loaded (one per project and run). 'fresh': each file's sandbox starts Node.
   */
  mode?: 'fresh' | 'zygote';
  /**
   * When a file fails or times out, keep its sandbox (running) this long ('5m', or milliseconds) and
   * print the `nsbox exec` command that enters it. Vitest's `teardownTimeout` bounds it.
   */
  keepOnFailure?: string | number;
}

const poolLabel = (option: string) => `vitest-pool-nsbox option '${option}'`;

export default function nsbox(options: NsboxPoolOptions = {}): PoolRunnerInitializer {
  const { onUnsupported, prewarm, mode, keepOnFailure, statsOver, statsJson, ...rest } = options ?? {};
  const keep = parseKeepDuration(poolLabel('keepOnFailure'), keepOnFailure);
  const report = new UsageReport({ statsOver, statsJson }, poolLabel);
  // The figures need the sandboxes to measure.
  const sandboxOptions: SandboxOptions = report.enabled ? { ...rest, stats: true } : rest;
  const policy = resolveOnUnsupported(onUnsupported, poolLabel('onUnsupported'));
  if (prewarm !== undefined && typeof prewarm !== 'boolean') throw new OptionError(poolLabel('prewarm'), prewarm, 'expected true or false');
  if (mode !== undefined && mode !== 'fresh' && mode !== 'zygote') throw new OptionError(poolLabel('mode'), mode, "expected 'fresh' or 'zygote'");
  // Fail at config load, not in the middle of a run, on a bad option.
  resolveOptions(sandboxOptions, poolLabel);
  // Not Linux: nsbox can never sandbox here. With onUnsupported: 'error' the run fails at once;
  // otherwise (the default there) the files run unsandboxed, said in one line by the first worker.
  const platform = platformProblem();
  if (platform && policy === 'error') {
    throw new UnsupportedHostError(`${platform}, and ${poolLabel('onUnsupported')} is 'error'`, 'run the tests on Linux (a VM, a container or CI), or leave onUnsupported unset to run them unsandboxed here');
  }
  const fallback: Fallback = { policy, platform, unsandboxed: undefined, spares: prewarm === false ? undefined : new Map(), zygotes: mode === 'fresh' ? undefined : new Map(), keep, report };
  return {
    name: 'nsbox',
    createPoolWorker: (poolOptions: PoolOptions): PoolWorker => new NsboxPoolWorker(poolOptions, sandboxOptions, fallback),
  };
}

export { nsbox };
export type { OnUnsupported };
