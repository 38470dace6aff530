// `nsbox ps` and `nsbox exec`: the CLI's look inside running sandboxes (registry.ts, exec.ts).
import { spawn } from 'node:child_process';
import os from 'node:os';
import path from 'node:path';
import { parseArgs } from 'node:util';
import { execCommand, resolveSandbox, stillRunning } from './exec.js';
import { NoSuchSandboxError } from './errors.cjs';
import { liveSandboxes, type LiveSandbox } from './registry.js';

type Usage = new (message: string) => Error;

export const PS_HELP = `Usage: nsbox ps [--json]

Lists your running sandboxes: those of 'nsbox run', of the Jest and Vitest adapters, and of any
program using nsbox. Ended ones never show: each is checked against /proc.

Columns: ID (what 'nsbox exec' takes), AGE, PID (the command's pid on the host), INNER (its pid in
the sandbox), PROCS (processes in the sandbox), HOSTNAME, NET, RUNNER (adapter and worker slot),
STATE (running, or kept after a failure), and the test file or the command.`;

export const EXEC_HELP = `Usage: nsbox exec ID [--] [CMD [ARGS...]]

Runs CMD (default: your shell) inside the running sandbox ID (see 'nsbox ps'): in all its namespaces,
with its root, the working directory of its command, your uid and no more capabilities than its command.
It sees the sandbox's hostname, /tmp, processes (with their pids in the sandbox) and network.

Exit status: CMD's; 125 when the sandbox could not be entered.`;

function age(ms: number): string {
  const s = Math.max(0, Math.round(ms / 1000));
  if (s < 60) return `${s}s`;
  if (s < 3600) return `${Math.floor(s / 60)}m${String(s % 60).padStart(2, '0')}s`;
  return `${Math.floor(s / 3600)}h${String(Math.floor((s % 3600) / 60)).padStart(2, '0')}m`;
}

function shown(file: string): string {
  const relative = path.relative(process.cwd(), file);
  return relative && !relative.startsWith('..') && !path.isAbsolute(relative) ? relative : file;
}

function what(sandbox: LiveSandbox): string {
  return sandbox.files?.length ? sandbox.files.map(shown).join(', ') : sandbox.command;
}

function state(sandbox: LiveSandbox, now: number): string {
  if (!sandbox.kept) return sandbox.init === undefined ? 'starting' : 'running';
  return `kept (${sandbox.kept.reason}), ${age(sandbox.kept.until - now)} left`;
}

export function ps(argv: string[], Usage: Usage): number {
  let values;
  try {
    ({ values } = parseArgs({ args: argv, options: { json: { type: 'boolean' }, help: { type: 'boolean', short: 'h' } }, strict: true }));
  } catch (error) {
    throw new Usage(`${(error as Error).message.split('\n')[0]}; usage: nsbox ps [--json]`);
  }
  if (values.help) {
    console.log(PS_HELP);
    return 0;
  }
  const sandboxes = liveSandboxes();
  const now = Date.now();
  if (values.json) {
    console.log(JSON.stringify(sandboxes.map((s) => ({ ...s, age: now - s.created })), null, 2));
    return 0;
  }
  const header = ['ID', 'AGE', 'PID', 'INNER', 'PROCS', 'HOSTNAME', 'NET', 'RUNNER', 'STATE', 'FILE/COMMAND'];
  const rows = sandboxes.map((s) => [
    s.id,
    age(now - s.created),
    String(s.pid ?? '-'),
    String(s.innerPid ?? '-'),
    String(s.processes),
    s.hostname,
    s.network,
    s.runner ? `${s.runner}${s.slot !== undefined ? `#${s.slot}` : ''}` : '-',
    state(s, now),
    what(s),
  ]);
  const widths = header.map((h, i) => Math.max(h.length, ...rows.map((r) => r[i].length)));
  for (const row of [header, ...rows]) console.log(row.map((cell, i) => (i === row.length - 1 ? cell : cell.padEnd(widths[i]))).join('  '));
  return 0;
}

export async function exec(argv: string[], Usage: Usage): Promise<number> {
  if (argv[0] === '--help' || argv[0] === '-h') {
    console.log(EXEC_HELP);
    return 0;
  }
  const [id, ...rest] = argv;
  if (!id || id.startsWith('-')) throw new Usage(`nsbox exec needs the id of a running sandbox first (see 'nsbox ps'); usage: nsbox exec ID [--] [CMD [ARGS...]]`);
  const command = rest[0] === '--' ? rest.slice(1) : rest;
  const sandbox = resolveSandbox(id);
  const shell = process.env.SHELL || '/bin/sh';
  const { file, args } = execCommand(sandbox, command.length > 0 ? command : [shell]);
  // The sandbox may have ended while the command was prepared: its pid could be anyone's by now.
  if (!stillRunning(sandbox)) throw new NoSuchSandboxError(id, 'ended while nsbox exec was starting', "run 'nsbox ps' to list your running sandboxes");
  const child = spawn(file, args, { stdio: 'inherit' });
  // As a shell does for its foreground job: the terminal's Ctrl-C is the command's to handle.
  const ignore = () => {};
  const forward = (signal: NodeJS.Signals) => child.kill(signal);
  process.on('SIGINT', ignore);
  process.on('SIGQUIT', ignore);
  for (const signal of ['SIGTERM', 'SIGHUP'] as const) process.on(signal, forward);
  const [code, signal] = await new Promise<[number | null, NodeJS.Signals | null]>((resolve, reject) => {
    child.once('error', reject);
    child.once('exit', (c, s) => resolve([c, s]));
  });
  if (signal) return 128 + (os.constants.signals[signal] ?? 0);
  return code ?? 125;
}
