#!/usr/bin/env node
// The `nsbox` command: `nsbox run [options] -- CMD [ARGS...]` and `nsbox doctor`.
import { parseArgs } from 'node:util';
import { readFileSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import { spawn, type SandboxExit } from './sandbox.js';
import { formatUsage, limitMessages } from './usage.js';
import { probeHost, type HostReport } from './probe.js';
import { platformProblem } from './platform.js';
import { fullTmpfsLines } from './tmpfs-full.js';
import { NsboxError, OptionError, SetupError, StartError } from './errors.cjs';
import type { OptionLabel, SandboxOptions } from './options.js';
import { exec, ps } from './inspect-cli.js';
import { keepSandbox } from './keep.js';

const VERSION = (JSON.parse(readFileSync(new URL('../package.json', import.meta.url), 'utf8')) as { version: string }).version;

const RUN_HELP = `Usage: nsbox run [options] -- CMD [ARGS...]

Runs CMD in a new sandbox: its own PID, mount, UTS and IPC namespaces (and a user namespace when not
root), a private /proc, /tmp and /dev/shm, and its own hostname. Everything CMD starts dies with it.

Options:
  --network host|loopback   share the host's network (default) or get a private one with only lo, up
  --hostname NAME           hostname inside (default nsbox-<random id>); it resolves inside
  --tmpfs-size SIZE         size of the private /tmp and /dev/shm (64m, 1g, 10%)
  --tmpfs PATH[:SIZE]       one more private tmpfs (repeatable)
  --bind SRC[:DST]          bind-mount a host path read-write (repeatable)
  --ro-bind SRC[:DST]       bind-mount a host path read-only (repeatable)
  --read-only               make the host's mounts read-only inside
  --writable PATH           with --read-only: a host path that stays writable (repeatable)
  --identity caller|root    caller (default): your uid, no capabilities; root: uid 0 inside
  --expose PATH             keep a path under a private tmpfs visible (repeatable; the working
                            directory and Node are kept automatically)
  --timeout DURATION        kill the whole sandbox after DURATION (500ms, 30s, 2m; a bare number is seconds)
  --memory-max SIZE         cgroup v2 memory limit for the whole sandbox (512M, 2G)
  --pids-max N              cgroup v2 limit on the number of processes (bounds a fork bomb)
  --keep-on-failure DURATION  when CMD fails or times out, keep its sandbox (running) for DURATION
                            and print the 'nsbox exec' command that enters it; Ctrl-C releases it
  --cpu-max SHARE           cgroup v2 CPU limit as a share of one CPU (0.5: half a CPU; 2: two CPUs)
                            (limits need a delegated cgroup v2 subtree; without one they are an error)
  --stats                   print the sandbox's peak memory and CPU time to stderr at the end
  --stats-json FILE         write them to FILE as JSON (with the exit status and any limit reached)
  -h, --help                show this help

Exit status: CMD's; 128+N when a signal N killed it; 124 on timeout; 125 when the sandbox could not be set up.`;

const HELP = `nsbox ${VERSION}: per-file Linux containers for Node test runners

Usage:
  nsbox run [options] -- CMD [ARGS...]   run CMD in a new sandbox (nsbox run --help for options)
  nsbox ps [--json]                      list your running sandboxes
  nsbox exec ID [--] [CMD [ARGS...]]     run CMD (default: your shell) inside a running sandbox
  nsbox doctor [--json]                  check whether this host can create sandboxes, and how to fix it
  nsbox --version                        print the version
  nsbox --help                           show this help`;

class UsageError extends NsboxError {
  constructor(message: string) {
    super('NSBOX_USAGE', message);
  }
}

const FLAGS: Record<string, keyof SandboxOptions> = {
  network: 'network', hostname: 'hostname', 'tmpfs-size': 'tmpfsSize', tmpfs: 'tmpfs', bind: 'bind', 'ro-bind': 'roBind',
  'read-only': 'readOnly', writable: 'writable', identity: 'identity', expose: 'expose', timeout: 'timeout',
  'memory-max': 'memoryMax', 'pids-max': 'pidsMax', 'cpu-max': 'cpuMax', stats: 'stats',
};
const cliLabel: OptionLabel = (option) => `--${Object.keys(FLAGS).find((flag) => FLAGS[flag] === option) ?? option}`;

const RUN_OPTIONS = {
  network: { type: 'string' }, hostname: { type: 'string' }, 'tmpfs-size': { type: 'string' },
  tmpfs: { type: 'string', multiple: true }, bind: { type: 'string', multiple: true }, 'ro-bind': { type: 'string', multiple: true },
  'read-only': { type: 'boolean' }, writable: { type: 'string', multiple: true }, identity: { type: 'string' },
  expose: { type: 'string', multiple: true }, timeout: { type: 'string' }, 'memory-max': { type: 'string' }, 'pids-max': { type: 'string' },
  'keep-on-failure': { type: 'string' },
  'cpu-max': { type: 'string' }, stats: { type: 'boolean' }, 'stats-json': { type: 'string' },
  help: { type: 'boolean', short: 'h' },
} as const;

/** Splits `[options] [--] CMD ARGS` at `--` or at the first word that is not an option or its value. */
function splitCommand(argv: string[]): { options: string[]; command: string[] } {
  for (let i = 0; i < argv.length; i++) {
    const token = argv[i];
    if (token === '--') return { options: argv.slice(0, i), command: argv.slice(i + 1) };
    if (!token.startsWith('-')) return { options: argv.slice(0, i), command: argv.slice(i) };
    const name = token.replace(/^--?/, '');
    const spec = (RUN_OPTIONS as Record<string, { type: string }>)[name];
    if (spec?.type === 'string' && !token.includes('=')) i++;
  }
  return { options: argv, command: [] };
}

export function parseDuration(label: string, text: string): number {
  const match = /^(\d+(?:\.\d+)?)(ms|s|m|h)?$/.exec(text);
  if (!match) throw new OptionError(label, text, "expected a duration such as '500ms', '30s', '2m' or a number of seconds");
  const unit = { ms: 1, s: 1000, m: 60_000, h: 3_600_000 }[(match[2] ?? 's') as 'ms' | 's' | 'm' | 'h'];
  const ms = Number(match[1]) * unit;
  if (ms <= 0) throw new OptionError(label, text, 'expected a duration above zero');
  return ms;
}

function parseCount(label: string, text: string): number {
  if (!/^[1-9][0-9]*$/.test(text)) throw new OptionError(label, text, 'expected a positive whole number of processes');
  return Number(text);
}

function parseShare(label: string, text: string): number {
  if (!/^(\d+(\.\d*)?|\.\d+)$/.test(text)) throw new OptionError(label, text, 'expected a share of one CPU such as 0.5 (half a CPU) or 2');
  return Number(text);
}

function parseRun(argv: string[]): { options: SandboxOptions; command: string[]; help: boolean; keep: number | undefined; statsJson?: string } {
  const split = splitCommand(argv);
  let values: Record<string, string | boolean | string[] | undefined>;
  try {
    ({ values } = parseArgs({ args: split.options, options: RUN_OPTIONS, strict: true, allowPositionals: false }));
  } catch (error) {
    const message = (error as Error).message;
    const needsValue = /^Option '(-[-\w]+)[^']*' argument (missing|is ambiguous)/.exec(message);
    if (needsValue) throw new UsageError(`${needsValue[1]} needs a value (write ${needsValue[1]}=VALUE for one that starts with '-'); see 'nsbox run --help'`);
    throw new UsageError(`${message.split('\n')[0].replace(/\. To specify a positional.*$/, '')}; see 'nsbox run --help'`);
  }
  const options: Record<string, unknown> = {};
  for (const [flag, key] of Object.entries(FLAGS)) {
    const value = values[flag];
    if (value === undefined) continue;
    options[key] =
      key === 'timeout'
        ? parseDuration('--timeout', value as string)
        : key === 'pidsMax'
          ? parseCount('--pids-max', value as string)
          : key === 'cpuMax'
            ? parseShare('--cpu-max', value as string)
            : value;
  }
  const keep = values['keep-on-failure'] === undefined ? undefined : parseDuration('--keep-on-failure', values['keep-on-failure'] as string);
  const statsJson = values['stats-json'] as string | undefined;
  if (statsJson !== undefined) options.stats = true;
  return { options: options as SandboxOptions, command: split.command, help: values.help === true, keep, statsJson };
}

function signalNumber(signal: NodeJS.Signals): number {
  return os.constants.signals[signal] ?? 0;
}

async function run(argv: string[]): Promise<number> {
  const { options, command, help, keep, statsJson } = parseRun(argv);
  if (help) {
    console.log(RUN_HELP);
    return 0;
  }
  if (command.length === 0) throw new UsageError("no command given: write it after '--', for example 'nsbox run -- node test.js'");
  const what = command.join(' ');
  // With --keep-on-failure the timeout is this process's own, so that it can keep the sandbox instead of killing it.
  const { timeout, ...sandboxOptions } = options;
  const child = spawn(
    command[0],
    command.slice(1),
    {
      ...(keep === undefined ? options : sandboxOptions),
      stdio: 'inherit',
      beforeTeardown: (status) => {
        if (keep === undefined || status === 0) return undefined;
        keptStatus = status;
        return keepSandbox(child, { duration: keep, what, reason: `exited with status ${status}` });
      },
    },
    cliLabel,
  );
  let keptTimedOut = false;
  // A kept sandbox ends killed: its command's own status is the one to report.
  let keptStatus: number | undefined;
  const keepTimer =
    keep !== undefined && timeout !== undefined
      ? setTimeout(() => {
          keptTimedOut = true;
          void keepSandbox(child, { duration: keep, what, reason: `timed out after ${timeout} ms` });
        }, timeout)
      : undefined;
  void child.exited.then(() => clearTimeout(keepTimer));

  // A terminal already sends Ctrl-C to the whole foreground group, sandbox included: forward SIGINT
  // only when it cannot have come from a terminal, so the command never gets it twice.
  const forward = (signal: NodeJS.Signals) => {
    if (signal === 'SIGINT' && process.stdin.isTTY) return;
    child.kill(signal);
  };
  const forwarded: NodeJS.Signals[] = ['SIGINT', 'SIGTERM', 'SIGHUP', 'SIGQUIT', 'SIGUSR1', 'SIGUSR2'];
  for (const signal of forwarded) process.on(signal, forward);

  const setup = await child.ready.then(() => undefined, (error: Error) => error);
  const exit = await child.exited;
  for (const signal of forwarded) process.off(signal, forward);

  // A timeout shorter than the set-up kills the sandbox before it is ready: that is the timeout's doing.
  if ((setup instanceof StartError || setup instanceof SetupError) && !exit.timedOut) {
    // The sandbox printed the failing call already; the doctor's checks name the host's cause and fix.
    const report = await probeHost();
    if (!report.ok) printBlocker(report, setup instanceof StartError ? setup.message.replace(/; run 'nsbox doctor'.*$/, '') : undefined);
    return 125;
  }
  // Before the set-up finished, the process listed is the command's own set-up, not a leftover.
  const beforeReady = setup !== undefined;
  if (exit.leftovers.length > 0 && !beforeReady) {
    const one = exit.leftovers.length === 1;
    const what = exit.timedOut ? `${one ? 'was' : 'were'} running at the timeout` : `${one ? 'was' : 'were'} still running when ${command[0]} exited`;
    process.stderr.write(
      `nsbox: ${exit.leftovers.length} process${one ? '' : 'es'} ${what}; killed:\n` +
        exit.leftovers.map((p) => `  pid ${p.pid}: ${p.command}\n`).join(''),
    );
  }
  const timedOut = exit.timedOut || keptTimedOut;
  const status = timedOut ? 124 : keptStatus !== undefined ? keptStatus : exit.signal ? 128 + signalNumber(exit.signal) : (exit.code ?? 125);
  reportLimits(command[0], exit, options, status, statsJson);
  for (const line of fullTmpfsLines(command[0], exit.fullTmpfs ?? [], '--tmpfs-size', options.memoryMax !== undefined)) process.stderr.write(`nsbox: ${line}\n`);
  if (timedOut) {
    process.stderr.write(`nsbox: ${command[0]} timed out after ${options.timeout} ms${beforeReady ? ', before its sandbox was set up' : ''}; the whole sandbox was killed\n`);
    if (exit.atTimeout) process.stderr.write(`nsbox: at the timeout, ${command[0]} ${exit.atTimeout}\n`);
  }
  return status;
}

/** What the cgroup saw: a limit that acted, always; the figures with --stats / --stats-json. */
function reportLimits(name: string, exit: SandboxExit, options: SandboxOptions, status: number, statsJson: string | undefined): void {
  for (const line of limitMessages(name, exit.limitsReached, status === 128 + signalNumber('SIGKILL'))) process.stderr.write(`nsbox: ${line}\n`);
  if (options.stats && exit.usage && statsJson === undefined) {
    process.stderr.write(`nsbox: stats: ${formatUsage(exit.usage)}\n`);
    for (const missing of exit.usage.missing) process.stderr.write(`nsbox: stats: no ${missing}\n`);
  }
  if (statsJson !== undefined) {
    const report = { command: name, status, timedOut: exit.timedOut, usage: exit.usage, limitsReached: exit.limitsReached ?? {} };
    writeFileSync(statsJson, `${JSON.stringify(report, null, 2)}\n`);
  }
}

function printBlocker(report: HostReport, context: string | undefined): void {
  const blocker = report.blocker;
  if (context) process.stderr.write(`nsbox: ${context}\n`);
  if (blocker?.cause) process.stderr.write(`nsbox: cause: ${blocker.cause}\nnsbox: fix: ${blocker.fix}\n`);
  else if (blocker) process.stderr.write(`nsbox: ${blocker.title}: ${blocker.detail}\n`);
}

const MARK = { ok: '✓', warn: '!', fail: '✗', info: '·' } as const;

async function doctor(argv: string[]): Promise<number> {
  let json = false;
  try {
    json = parseArgs({ args: argv, options: { json: { type: 'boolean' } }, strict: true }).values.json === true;
  } catch (error) {
    throw new UsageError(`${(error as Error).message}; usage: nsbox doctor [--json]`);
  }
  const report = await probeHost();
  if (json) {
    console.log(JSON.stringify(report, null, 2));
    return report.ok ? 0 : 1;
  }
  const width = Math.max(...report.checks.map((c) => c.title.length));
  const lines = ['nsbox doctor', ''];
  for (const check of report.checks) {
    lines.push(`  ${MARK[check.status]} ${check.title.padEnd(width)}  ${check.detail}`);
    if (check.cause && check.status !== 'ok') lines.push(`      cause: ${check.cause}`);
    if (check.fix && check.status !== 'ok') lines.push(`      fix:   ${check.fix}`);
  }
  lines.push('', report.ok ? 'Sandboxes can be created on this host.' : 'Sandboxes cannot be created on this host: apply the fix above.');
  console.log(lines.join('\n'));
  return report.ok ? 0 : 1;
}

async function main(argv: string[]): Promise<number> {
  const [subcommand, ...rest] = argv;
  // Not Linux: no sandbox can exist here (doctor says so among its checks).
  const platform = platformProblem();
  if (platform && (subcommand === 'run' || subcommand === 'ps' || subcommand === 'exec')) {
    process.stderr.write(`nsbox: ${platform}, so 'nsbox ${subcommand}' cannot work on this machine. Fix: run it on Linux (a VM, a container or CI)\n`);
    return 125;
  }
  switch (subcommand) {
    case 'run':
      return run(rest);
    case 'doctor':
      return doctor(rest);
    case 'ps':
      return ps(rest, UsageError);
    case 'exec':
      return exec(rest, UsageError);
    case '--version':
    case '-v':
      console.log(VERSION);
      return 0;
    case undefined:
    case '--help':
    case '-h':
    case 'help':
      console.log(HELP);
      return subcommand === undefined ? 2 : 0;
    default:
      throw new UsageError(`unknown command '${subcommand}'; expected 'run', 'ps', 'exec' or 'doctor' (see 'nsbox --help')`);
  }
}

main(process.argv.slice(2)).then(
  (status) => {
    process.exitCode = status;
  },
  (error: unknown) => {
    if (error instanceof NsboxError) {
      process.stderr.write(`nsbox: ${error.message}\n`);
      process.exitCode = error instanceof OptionError || error instanceof UsageError ? 2 : 125;
    } else {
      process.stderr.write(`nsbox: internal error (please report it): ${(error as Error)?.stack ?? error}\n`);
      process.exitCode = 70;
    }
  },
);
