import { spawn, type SpawnOptions } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

export const CORE = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
export const CLI = path.join(CORE, 'dist', 'cli.js');
export const REPO = path.resolve(CORE, '..', '..');
export const NOBODY = 65534;

export interface Result {
  status: number | null;
  signal: NodeJS.Signals | null;
  stdout: string;
  stderr: string;
}

/** Runs a command to completion and collects its output. */
export function run(file: string, args: string[], options: SpawnOptions & { input?: string } = {}): Promise<Result> {
  return new Promise((resolve, reject) => {
    const child = spawn(file, args, { stdio: ['pipe', 'pipe', 'pipe'], ...options });
    let stdout = '';
    let stderr = '';
    child.stdout!.setEncoding('utf8').on('data', (d: string) => (stdout += d));
    child.stderr!.setEncoding('utf8').on('data', (d: string) => (stderr += d));
    child.on('error', reject);
    child.on('close', (status, signal) => resolve({ status, signal, stdout, stderr }));
    // A command that exits without reading its stdin closes the pipe first: EPIPE is no failure here.
    child.stdin!.on('error', () => {});
    child.stdin!.end(options.input ?? '');
  });
}

/** `nsbox ARGS` through the built CLI. */
export function nsbox(args: string[], options: SpawnOptions & { input?: string } = {}): Promise<Result> {
  return run(process.execPath, [CLI, ...args], options);
}

function traversable(dir: string, uid: number): boolean {
  const stat = fs.statSync(dir);
  return stat.uid === uid ? (stat.mode & 0o100) !== 0 : (stat.mode & 0o001) !== 0;
}

/**
 * nsbox flags that let user `uid` reach `target`: every directory on the way that it cannot enter is
 * covered by a tmpfs (which it can enter) with what lies beyond exposed again at the same path.
 */
export function reachFlags(target: string, uid: number): string[] {
  const parts = path.resolve(target).split('/').filter(Boolean);
  const flags: string[] = [];
  for (let i = 1; i <= parts.length; i++) {
    const dir = `/${parts.slice(0, i).join('/')}`;
    if (traversable(dir, uid)) continue;
    flags.push('--tmpfs', dir);
    const beyond = i < parts.length ? [`/${parts.slice(0, i + 1).join('/')}`] : fs.readdirSync(dir).map((entry) => path.join(dir, entry));
    for (const p of beyond) flags.push('--expose', p);
  }
  return flags;
}

/**
 * Runs a command as root such that uid 65534 can reach the checkout from inside it. When the checkout
 * sits below a directory that user cannot enter (a CI clone in a mode-700 temp dir, say), the command
 * runs in a root nsbox sandbox that covers those directories with tmpfs and exposes the checkout again
 * at the same path: the host's permissions stay as they are.
 */
export function asRootReaching(args: string[], options: SpawnOptions & { input?: string } = {}): Promise<Result> {
  const reach = [...reachFlags(REPO, NOBODY), ...reachFlags(path.dirname(process.execPath), NOBODY)];
  if (reach.length === 0) return run(args[0], args.slice(1), { cwd: REPO, ...options });
  return nsbox(['run', ...reach, '--', ...args], { cwd: REPO, ...options });
}

/** Runs a command as uid 65534 (see asRootReaching for a checkout it cannot enter). */
export function asNobody(args: string[], options: SpawnOptions & { input?: string } = {}): Promise<Result> {
  const env = { ...process.env, HOME: os.tmpdir(), ...options.env };
  return asRootReaching(['setpriv', `--reuid=${NOBODY}`, `--regid=${NOBODY}`, '--clear-groups', '--', ...args], { ...options, env });
}

export function alive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
}

/**
 * A shell line that leaves a double-forked `sleep N` daemon behind and returns once it runs as sleep
 * (setsid forks before it execs: a fixed pause would sometimes list it as setsid on a busy machine).
 */
export function daemon(n: number): string {
  return `(setsid sleep ${n} &); until pgrep -xf "sleep ${n}" >/dev/null; do sleep 0.01; done`;
}

/**
 * Host processes whose command line matches `pattern` that this test run started (they carry the run's
 * marker, see test/host-unchanged.ts): another run of the suite on the same machine is not this one's leak.
 */
export function processesOfThisRun(pattern: RegExp): number[] {
  const marker = `NSBOX_SUITE_RUN=${process.env.NSBOX_SUITE_RUN}`;
  return fs.readdirSync('/proc').filter((pid) => /^\d+$/.test(pid)).flatMap((pid) => {
    try {
      const command = fs.readFileSync(`/proc/${pid}/cmdline`, 'utf8').split('\0').join(' ').trim();
      const environ = fs.readFileSync(`/proc/${pid}/environ`, 'utf8').split('\0');
      return pattern.test(command) && (process.env.NSBOX_SUITE_RUN === undefined || environ.includes(marker)) ? [Number(pid)] : [];
    } catch {
      return [];
    }
  });
}

/** nsbox's cgroups on this host, in any hierarchy (its limits are tested in a guest: here there must never be any). */
export function nsboxCgroupsOnHost(): string[] {
  const found: string[] = [];
  const walk = (dir: string, depth: number) => {
    let entries: fs.Dirent[] = [];
    try {
      entries = fs.readdirSync(dir, { withFileTypes: true });
    } catch {
      return;
    }
    for (const entry of entries) {
      if (!entry.isDirectory()) continue;
      if (entry.name.startsWith('nsbox-')) found.push(`${dir}/${entry.name}`);
      if (depth < 4) walk(`${dir}/${entry.name}`, depth + 1);
    }
  };
  walk('/sys/fs/cgroup', 0);
  return found;
}

/** Polls `check` until it returns something (not undefined, null or false); the deadline is only a safety net. */
export async function until<T>(what: string, check: () => T | undefined | null | false | Promise<T | undefined | null | false>, ms = 60_000): Promise<T> {
  const deadline = Date.now() + ms;
  for (;;) {
    const value = await check();
    if (value !== undefined && value !== null && value !== false) return value;
    if (Date.now() > deadline) throw new Error(`gave up waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 50));
  }
}

/** `nsbox ps --json`, parsed. */
export async function nsboxPs<Listed>(): Promise<Listed[]> {
  const r = await nsbox(['ps', '--json']);
  if (r.status !== 0) throw new Error(`nsbox ps failed: ${r.stderr}`);
  return JSON.parse(r.stdout) as Listed[];
}

/** Waits until none of the pids runs any more; returns those still running at the deadline (a safety net, reached only by a failure). */
export async function waitUntilGone(pids: number[], ms = 15_000): Promise<number[]> {
  const deadline = Date.now() + ms;
  while (Date.now() < deadline && pids.some(alive)) await new Promise((r) => setTimeout(r, 50));
  return pids.filter(alive);
}

export function lines(text: string): string[] {
  return text.trim().split('\n').filter(Boolean);
}

export function uniqueName(prefix: string): string {
  return `${prefix}-${process.pid}-${Math.random().toString(16).slice(2, 10)}`;
}
