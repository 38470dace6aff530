// Every run of the suite must leave the host as it found it: same mounts, same hostname, no sandbox
// left running. Fails the run otherwise.
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { execFileSync } from 'node:child_process';
import { startZygote } from '../packages/core/dist/index.js';
import { nsboxCgroupsOnHost } from '../packages/core/test/helpers.js';

function mounts(): string[] {
  return fs.readFileSync('/proc/self/mounts', 'utf8').trim().split('\n').sort();
}

// Everything this run starts inherits the marker, so sandboxes of other programs on the machine
// (a benchmark running alongside, say) are not mistaken for leaks of this suite.
const RUN_MARKER = `NSBOX_SUITE_RUN=${process.pid}-${Date.now()}`;
process.env.NSBOX_SUITE_RUN = RUN_MARKER.split('=')[1];

function startedByThisRun(pid: string): boolean {
  try {
    return fs.readFileSync(`/proc/${pid}/environ`, 'utf8').split('\0').includes(RUN_MARKER);
  } catch {
    return false;
  }
}

/** Live `unshare` processes started by this run (zombies waiting for an unrelated parent do not count). */
function unshareProcesses(): string[] {
  let found: string[] = [];
  try {
    found = execFileSync('pgrep', ['-a', '-x', 'unshare'], { encoding: 'utf8' }).trim().split('\n').filter(Boolean);
  } catch {
    return [];
  }
  return found.filter((line) => {
    const pid = line.split(' ')[0];
    try {
      return startedByThisRun(pid) && !/^\d+ \(.*\) Z /.test(fs.readFileSync(`/proc/${pid}/stat`, 'utf8'));
    } catch {
      return false;
    }
  });
}

/** Live zygotes started by this run (as root a zygote is node itself, with no unshare above it). */
function zygoteProcesses(): string[] {
  return fs.readdirSync('/proc').filter((pid) => {
    if (!/^\d+$/.test(pid) || !startedByThisRun(pid)) return false;
    try {
      return fs.readFileSync(`/proc/${pid}/cmdline`, 'utf8').includes('/inside/zygote.cjs');
    } catch {
      return false;
    }
  });
}

/** The zygotes' socket directories in the host's /tmp whose caller is gone (a live caller's is in use). */
function orphanedSocketDirs(): string[] {
  return fs.readdirSync('/tmp').filter((entry) => {
    const caller = /^nsbox-zygote-(\d+)-/.exec(entry)?.[1];
    return caller !== undefined && !fs.existsSync(`/proc/${caller}`);
  });
}

/**
 * The per-user directories of sandbox records (`nsbox ps`): this run's users are root and, in the
 * rootless tests, uid 65534. Each entry is a directory and the record files in it. The directory
 * under $XDG_RUNTIME_DIR is kept empty by design (sandboxes hide it by a mount on it): only its
 * records count.
 */
function recordDirs(): string[] {
  const dirs = fs.readdirSync('/tmp').filter((e) => /^nsbox-\d+$/.test(e)).map((e) => path.join('/tmp', e));
  const session = process.env.XDG_RUNTIME_DIR ? path.join(process.env.XDG_RUNTIME_DIR, 'nsbox') : undefined;
  if (session) dirs.push(session);
  return dirs.flatMap((dir) => {
    try {
      const records = fs.readdirSync(dir).map((e) => path.join(dir, e));
      return dir === session ? records : [dir, ...records];
    } catch {
      return [];
    }
  });
}

/**
 * A caller killed with SIGKILL (the fault tests do it on purpose) cannot remove its record; the kernel
 * kills its sandbox, and the next nsbox that reads the directory removes the stale record, which is
 * what `nsbox ps` does here. Any record still there after that is a sandbox still running.
 */
function recordsLeft(before: string[]): string[] {
  for (const uid of [process.getuid?.() ?? 0, 65534]) {
    try {
      const args = [path.resolve(import.meta.dirname, '../packages/core/dist/cli.js'), 'ps', '--json'];
      if (uid === (process.getuid?.() ?? 0)) execFileSync(process.execPath, args, { stdio: 'ignore' });
      else if (fs.existsSync(`/tmp/nsbox-${uid}`)) execFileSync('setpriv', [`--reuid=${uid}`, `--regid=${uid}`, '--clear-groups', process.execPath, ...args], { stdio: 'ignore' });
    } catch {
      // reported below as what is left
    }
  }
  return recordDirs().filter((entry) => !before.includes(entry) && ownedByThisRun(entry));
}

/**
 * Whether a record (or an empty record directory) left is this run's: its owner carries this run's
 * marker, or is gone (a stale record that `nsbox ps` should have removed). Another nsbox run on the
 * machine (a benchmark, a developer's Jest) keeps its own records while it runs.
 */
function ownedByThisRun(entry: string): boolean {
  try {
    if (fs.statSync(entry).isDirectory()) return fs.readdirSync(entry).length === 0;
    const owner = (JSON.parse(fs.readFileSync(entry, 'utf8')) as { owner?: { pid?: number } }).owner?.pid;
    return owner === undefined || !fs.existsSync(`/proc/${owner}`) || startedByThisRun(String(owner));
  } catch {
    return false; // removed meanwhile
  }
}

export default function setup() {
  const before = { mounts: mounts(), hostname: os.hostname(), unshare: unshareProcesses(), socketDirs: orphanedSocketDirs(), records: recordDirs(), cgroups: nsboxCgroupsOnHost() };
  return async () => {
    // Sandboxes killed at the very end of a test may need a moment to be reaped.
    for (let i = 0; i < 150 && (unshareProcesses().length > before.unshare.length || zygoteProcesses().length > 0); i++) await new Promise((r) => setTimeout(r, 100));
    const problems: string[] = [];
    const after = mounts();
    const added = after.filter((m) => !before.mounts.includes(m));
    const removed = before.mounts.filter((m) => !after.includes(m));
    if (added.length || removed.length) problems.push(`the host's mount table changed: +${JSON.stringify(added)} -${JSON.stringify(removed)}`);
    if (os.hostname() !== before.hostname) problems.push(`the host's hostname changed from ${before.hostname} to ${os.hostname()}`);
    const leaked = unshareProcesses().filter((p) => !before.unshare.includes(p));
    if (leaked.length) problems.push(`sandboxes still running after the suite: ${leaked.join('; ')}`);
    // Tests that SIGKILL a zygote's caller leave its socket directory behind, by design, until this
    // user's next zygote start removes it: make that start here, then nothing of the run may be left.
    const sweeper = startZygote();
    await sweeper.ready;
    await sweeper.close();
    const zygotes = zygoteProcesses();
    if (zygotes.length) problems.push(`zygotes still running after the suite: pids ${zygotes.join(', ')}`);
    const dirs = orphanedSocketDirs().filter((d) => !before.socketDirs.includes(d));
    if (dirs.length) problems.push(`zygote socket directories of dead callers left in /tmp after a zygote start (which removes this user's): ${dirs.join(', ')}`);
    const records = recordsLeft(before.records);
    if (records.length) problems.push(`sandbox records left after the suite: ${records.join(', ')}`);
    // A group's name carries its caller's pid (nsbox-<PID namespace>-<caller>-<random>): a live caller that is not this run's is another nsbox run's.
    const groups = nsboxCgroupsOnHost().filter((g) => {
      const caller = /nsbox-\d+-(\d+)-[^/]*$/.exec(g)?.[1];
      return !before.cgroups.includes(g) && (caller === undefined || !fs.existsSync(`/proc/${caller}`) || startedByThisRun(caller));
    });
    if (groups.length) problems.push(`cgroups left on the host: ${groups.join('; ')}`);
    if (problems.length) throw new Error(`host changed by the test suite:\n${problems.join('\n')}`);
    console.log('host unchanged: mount table and hostname as before; leftovers found: 0 (sandboxes, zygotes, zygote socket directories, sandbox records, cgroups)');
  };
}
