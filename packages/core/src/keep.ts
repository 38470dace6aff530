// Keep on failure: a failed or timed-out file's sandbox stays up for a while so that a developer can
// `nsbox exec` into it, then it is destroyed. Shared by the CLI and both adapters, which only decide
// what failed.
//
// The processes are left running, not stopped with SIGSTOP: a hanging test is then seen doing what it
// hangs on (its stack in /proc, its server answering on its port, strace attaching), and a stopped
// process would answer nothing, hold its locks and show every thread in state T. What it costs, a busy
// loop burning CPU, is bounded by the duration. The sandbox is destroyed, whatever it runs, when the
// duration ends, on Ctrl-C (SIGINT) or SIGTERM, or with the process that kept it (its death signal).
import os from 'node:os';
import { OptionError } from './errors.cjs';
import type { Annotation } from './registry.js';

export interface Keepable {
  readonly id: string;
  annotate(annotation: Annotation): void;
  destroy(): Promise<unknown>;
  /** Resolves when the sandbox is gone. */
  readonly exited?: Promise<unknown>;
}

export interface KeepOptions {
  /** How long, in milliseconds. */
  duration: number;
  /** What ran there: the test file, or the command. */
  what: string;
  /** Why it is kept: 'failed', 'timed out', 'exited with status 1'. */
  reason: string;
  /** Said after how to release it: what else ends the keeping sooner. */
  note?: string;
  /** Where the one line goes (default: stderr). */
  write?: (line: string) => void;
}

/** Each kept sandbox: the function that releases it, and the end of its keeping (both resolve once it is destroyed). */
const kept = new Map<Keepable, { release: () => Promise<void>; done: Promise<void> }>();

/**
 * A duration as the CLI and the adapters' configs take it: '500ms', '30s', '5m', '1h', a bare number
 * in a string is seconds; a number is milliseconds. Undefined (not set) or false mean no keeping.
 */
export function parseKeepDuration(label: string, value: unknown): number | undefined {
  if (value === undefined || value === false) return undefined;
  let ms: number | undefined;
  if (typeof value === 'number') ms = value;
  else if (typeof value === 'string') {
    const match = /^(\d+(?:\.\d+)?)(ms|s|m|h)?$/.exec(value);
    if (match) ms = Number(match[1]) * { ms: 1, s: 1000, m: 60_000, h: 3_600_000 }[(match[2] ?? 's') as 'ms' | 's' | 'm' | 'h'];
  }
  if (ms === undefined || !Number.isFinite(ms)) throw new OptionError(label, value, "expected a duration such as '30s', '5m' or '1h' (a number is milliseconds)");
  if (ms <= 0 || ms > 2 ** 31 - 1) throw new OptionError(label, value, 'expected a duration above zero and below 24 days');
  return ms;
}

export function formatDuration(ms: number): string {
  if (ms % 3_600_000 === 0) return `${ms / 3_600_000}h`;
  if (ms % 60_000 === 0) return `${ms / 60_000}m`;
  if (ms % 1000 === 0) return `${ms / 1000}s`;
  return `${ms}ms`;
}

function onSignal(signal: NodeJS.Signals): void {
  const released = Promise.all([...kept.values()].map(({ release }) => release()));
  detachSignals();
  // Unless its owner handles the signal, the process ends as it would have without nsbox listening,
  // with a shell's status for it, but through exit: exit handlers (a zygote's socket directory) run.
  if (process.listenerCount(signal) === 0) void released.then(() => process.exit(128 + (os.constants.signals[signal] ?? 0)));
}

const signals: NodeJS.Signals[] = ['SIGINT', 'SIGTERM'];
function attachSignals(): void {
  if (kept.size === 1) for (const signal of signals) process.on(signal, onSignal);
}
function detachSignals(): void {
  for (const signal of signals) process.off(signal, onSignal);
}

/**
 * Keeps `sandbox` for `options.duration`, says so in one line with the command that enters it, then
 * destroys it. Resolves once it is destroyed (at the end of the duration, or released earlier).
 */
export function keepSandbox(sandbox: Keepable, options: KeepOptions): Promise<void> {
  // Asked twice (the command ended while its adapter was deciding): one keeping, one line.
  const existing = kept.get(sandbox);
  if (existing) return existing.done;
  const until = Date.now() + options.duration;
  sandbox.annotate({ kept: { reason: options.reason, until } });
  (options.write ?? ((line) => process.stderr.write(line)))(
    `nsbox: kept the sandbox of ${options.what} (${options.reason}) for ${formatDuration(options.duration)}: nsbox exec ${sandbox.id}   (Ctrl-C releases it${options.note ? `; ${options.note}` : ''})\n`,
  );
  let released: Promise<void> | undefined;
  const release = () => {
    released ??= (async () => {
      clearTimeout(timer);
      kept.delete(sandbox);
      if (kept.size === 0) detachSignals();
      await sandbox.destroy();
    })();
    return released;
  };
  let finished!: () => void;
  const done = new Promise<void>((resolve) => (finished = resolve));
  const releaseAndFinish = () => release().then(finished);
  // Ref'd on purpose: the run waits for its kept sandboxes, which is what they are kept for.
  const timer = setTimeout(() => void releaseAndFinish(), options.duration);
  kept.set(sandbox, { release: releaseAndFinish, done });
  attachSignals();
  // A sandbox that ends by itself meanwhile (its last process killed from an `nsbox exec` shell) is not waited for.
  void sandbox.exited?.then(releaseAndFinish);
  return done;
}

/** Releases every kept sandbox now (the end of a run that does not wait, say). */
export async function releaseKept(): Promise<void> {
  await Promise.all([...kept.values()].map(({ release }) => release()));
}
