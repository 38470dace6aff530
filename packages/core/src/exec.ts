// `nsbox exec ID [--] CMD`: runs a command inside a running sandbox, as `docker exec` does.
//
// Joining a user or mount namespace (setns(2)) needs a single-threaded process, which Node never is,
// so the joining is a stage 0 of its own, util-linux `nsenter`, as `unshare` is for a new sandbox:
//   nsenter --target INIT -U -m -p -u -i [-n] --root --wdns=CWD [--preserve-credentials]
//                          joins every namespace of the sandbox's PID 1 and its root, then forks, so
//                          the command is born inside the PID namespace (setns(CLONE_NEWPID) only
//                          applies to children) and sees the sandbox's /proc through its mount namespace
//   setpriv ...            caps the capabilities at what the sandbox's command has (see capabilityArgs)
//   CMD
// The init is the target, not the command: it is the sandbox's one process that lives as long as the
// sandbox, and a kept sandbox's command may have ended. The working directory is the command's.
import fs from 'node:fs';
import { NoSuchSandboxError, UnsupportedHostError } from './errors.cjs';
import { findSandbox, type LiveSandbox } from './registry.js';
import { isRunning } from './leftovers.js';
import { UTIL_LINUX_FIX, stage0Tools } from './stage0.js';
import { which } from './which.cjs';

const NAMESPACES = [
  ['user', '--user'],
  ['mnt', '--mount'],
  ['pid', '--pid'],
  ['uts', '--uts'],
  ['ipc', '--ipc'],
  ['net', '--net'],
] as const;

function namespaceOf(pid: number | 'self', name: string): string | undefined {
  try {
    return fs.readlinkSync(`/proc/${pid}/ns/${name}`);
  } catch {
    return undefined;
  }
}

function capabilities(pid: number): { effective: bigint; bounding: bigint } | undefined {
  try {
    const status = fs.readFileSync(`/proc/${pid}/status`, 'utf8');
    const field = (name: string) => BigInt(`0x${new RegExp(`^${name}:\\s*([0-9a-f]+)$`, 'm').exec(status)![1]}`);
    return { effective: field('CapEff'), bounding: field('CapBnd') };
  } catch {
    return undefined;
  }
}

function lastCapability(): number {
  try {
    return Number(fs.readFileSync('/proc/sys/kernel/cap_last_cap', 'utf8'));
  } catch {
    return 40;
  }
}

/**
 * No more capabilities than the sandbox's command has.
 * - A command with none (the rootless default): the exec'd command runs as a uid other than 0 in the
 *   sandbox's user namespace, so exec(2) leaves it no capabilities either. Joining the namespace gave
 *   nsenter a full bounding set, which its exec'd child cannot lower any more (that takes
 *   CAP_SETPCAP): --no-new-privs makes sure that no set-user-ID or file-capability program can ever
 *   raise it from there.
 * - A command with some (root, or identity 'root'): the bounding set is cut to the command's, which
 *   caps what the exec'd command gets at exec(2).
 */
function capabilityArgs(target: number): string[] {
  const caps = capabilities(target);
  if (!caps) return ['--no-new-privs'];
  if (caps.effective === 0n) return ['--no-new-privs'];
  const missing: string[] = [];
  for (let cap = 0; cap <= lastCapability(); cap++) if (!(caps.bounding & (1n << BigInt(cap)))) missing.push(`-cap_${cap}`);
  return missing.length === 0 ? [] : ['--inh-caps=-all', `--bounding-set=${missing.join(',')}`];
}

/** The sandbox `id` names, or why there is none: the error names the id and what to do. */
export function resolveSandbox(id: string): LiveSandbox {
  const found = findSandbox(id);
  if (found === undefined) {
    throw new NoSuchSandboxError(id, 'is not running (it ended, or it is not one of yours)', "run 'nsbox ps' to list your running sandboxes");
  }
  if (Array.isArray(found)) {
    throw new NoSuchSandboxError(id, `matches ${found.length} sandboxes (${found.map((s) => s.id).join(', ')})`, 'give more of the id');
  }
  if (found.init === undefined) throw new NoSuchSandboxError(id, 'is still starting', 'try again in a moment');
  return found;
}

function cwdOf(pid: number | undefined): string | undefined {
  if (pid === undefined) return undefined;
  try {
    return fs.readlinkSync(`/proc/${pid}/cwd`);
  } catch {
    return undefined;
  }
}

/** The file and arguments that run `command` inside `sandbox`. */
export function execCommand(sandbox: LiveSandbox, command: string[]): { file: string; args: string[] } {
  const nsenter = which('nsenter');
  if (!nsenter) throw new UnsupportedHostError("util-linux's 'nsenter' is not on PATH", UTIL_LINUX_FIX);
  const { setpriv } = stage0Tools();
  const init = sandbox.init!;
  const joined = NAMESPACES.filter(([name]) => {
    const theirs = namespaceOf(init, name);
    // Joining a namespace one is already in is refused (EINVAL for a user namespace): skip those,
    // as the host's network for a sandbox in 'host' mode, or the user namespace of a root caller.
    return theirs !== undefined && theirs !== namespaceOf('self', name);
  });
  const joinsUser = joined.some(([name]) => name === 'user');
  const target = sandbox.pid ?? init;
  const cwd = cwdOf(sandbox.pid) ?? cwdOf(init) ?? '/';
  return {
    file: nsenter,
    args: [
      `--target=${init}`,
      ...joined.map(([, flag]) => flag),
      '--root',
      `--wdns=${cwd}`,
      // Otherwise nsenter switches to uid 0 of the user namespace, which a rootless sandbox does not map.
      ...(joinsUser ? ['--preserve-credentials'] : []),
      '--',
      setpriv,
      ...capabilityArgs(target),
      '--',
      ...command,
    ],
  };
}

/** Whether the sandbox is still the same one (its anchor has the same pid and start time). */
export function stillRunning(sandbox: LiveSandbox): boolean {
  return isRunning(sandbox.anchor.pid, sandbox.anchor.start);
}
