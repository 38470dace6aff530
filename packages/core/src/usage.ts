// How the CLI and the adapters show what sandboxes used and which limits acted: one line a CI log
// reader sees at once, and a JSON report for machines.
import fs from 'node:fs';
import { OptionError } from './errors.cjs';
import { formatBytes, sizeBytes, type LimitsReached, type SandboxUsage } from './cgroup.js';
import type { SandboxExit } from './sandbox.js';

/** What a sandbox used, in one line for a log: `peak memory 63.9 MiB, CPU time 1.24 s`. */
export function formatUsage(usage: SandboxUsage): string {
  const parts: string[] = [];
  if (usage.memoryPeak !== undefined) parts.push(`peak memory ${formatBytes(usage.memoryPeak)}`);
  if (usage.cpuTime !== undefined) parts.push(`CPU time ${(usage.cpuTime / 1000).toFixed(2)} s`);
  if (usage.pidsPeak !== undefined) parts.push(`at most ${usage.pidsPeak} processes and threads`);
  return parts.join(', ') || 'no figures';
}

/** The lines to print when a limit acted on `what` (a command or a test file); `killed`: `what` itself died of SIGKILL. */
export function limitMessages(what: string, reached: LimitsReached | undefined, killed: boolean): string[] {
  const lines: string[] = [];
  if (reached?.memory) {
    const limit = formatBytes(reached.memory.limit);
    lines.push(
      killed
        ? `${what} was killed: it reached its memory limit (${limit})`
        : `${what}: the kernel killed ${reached.memory.kills} process${reached.memory.kills === 1 ? '' : 'es'} in its sandbox: it reached its memory limit (${limit})`,
    );
  }
  if (reached?.pids) {
    lines.push(`${what}: ${reached.pids.failures} fork${reached.pids.failures === 1 ? '' : 's'} failed: the sandbox reached its process limit (${reached.pids.limit} processes and threads)`);
  }
  return lines;
}

/** The adapters' `statsOver` and `statsJson` options. */
export interface StatsOptions {
  /** Print the files whose peak memory (`'256M'`) or CPU time (milliseconds) reached this; `{}` prints every file. */
  statsOver?: { memory?: string; cpuTime?: number };
  /** Write every file's figures and the limits that acted to this file, as JSON (rewritten as each file ends). */
  statsJson?: string;
}

/** Collects every file's figures during a run of an adapter; prints those over the threshold as they end. */
export class UsageReport {
  private readonly files: { file: string; usage?: SandboxUsage; limitsReached?: LimitsReached }[] = [];
  private readonly memory: number | undefined;
  private readonly cpuTime: number | undefined;
  private missingSaid = false;

  /** Validates the options (naming them with `label`); `enabled` is false when neither was given. */
  constructor(
    private readonly options: StatsOptions,
    label: (option: keyof StatsOptions) => string,
  ) {
    const over = options.statsOver;
    if (over !== undefined && (over === null || typeof over !== 'object' || Array.isArray(over) || Object.keys(over).some((k) => k !== 'memory' && k !== 'cpuTime'))) {
      throw new OptionError(label('statsOver'), over, "expected { memory?: '256M', cpuTime?: milliseconds } ({} lists every file)");
    }
    if (over?.memory !== undefined && !(typeof over.memory === 'string' && /^[0-9]+[KMG]?$/i.test(over.memory))) {
      throw new OptionError(`${label('statsOver')}.memory`, over.memory, "expected a size such as '256M' or '1G'");
    }
    if (over?.cpuTime !== undefined && !(typeof over.cpuTime === 'number' && over.cpuTime >= 0)) {
      throw new OptionError(`${label('statsOver')}.cpuTime`, over.cpuTime, 'expected a number of milliseconds');
    }
    if (options.statsJson !== undefined && (typeof options.statsJson !== 'string' || options.statsJson === '')) {
      throw new OptionError(label('statsJson'), options.statsJson, 'expected the path of a file to write');
    }
    this.memory = over?.memory === undefined ? undefined : sizeBytes(over.memory);
    this.cpuTime = over?.cpuTime;
  }

  /** Whether sandboxes must measure (the core's `stats` option). */
  get enabled(): boolean {
    return this.options.statsOver !== undefined || this.options.statsJson !== undefined;
  }

  /** One file's sandbox ended: the lines to print now (limits that acted, figures over the threshold). */
  record(file: string, exit: SandboxExit): string[] {
    // No exit status: the runner ends a file's sandbox itself once it has the file's result.
    this.files.push({ file, usage: exit.usage, limitsReached: exit.limitsReached });
    // Rewritten at every file, so it is complete whenever the runner stops (a runner's close hooks may
    // run before its last sandbox has ended).
    if (this.options.statsJson !== undefined) fs.writeFileSync(this.options.statsJson, `${JSON.stringify({ files: this.files }, null, 2)}\n`);
    const lines = limitMessages(file, exit.limitsReached, exit.code === 137 || exit.signal === 'SIGKILL').map((l) => `[nsbox] ${l}`);
    const usage = exit.usage;
    const over = this.options.statsOver;
    if (usage && over) {
      const all = this.memory === undefined && this.cpuTime === undefined;
      const heavy = (this.memory !== undefined && (usage.memoryPeak ?? 0) >= this.memory) || (this.cpuTime !== undefined && (usage.cpuTime ?? 0) >= this.cpuTime);
      if (all || heavy) lines.push(`[nsbox] usage: ${file}: ${formatUsage(usage)}`);
      if (!this.missingSaid && usage.missing.length > 0) {
        this.missingSaid = true;
        lines.push(...usage.missing.map((m) => `[nsbox] usage: no ${m}`));
      }
    }
    return lines;
  }
}
