// Stage 0: the single-threaded chain that makes a process be born inside its namespaces.
//   setpriv --pdeathsig KILL   the chain dies when the caller does
//   unshare ... --kill-child   new namespaces; SIGKILL to unshare takes the whole sandbox down
//   sh -c INIT                 PID 1: reaps orphans and keeps the command out of PID 1, where signals
//                              and self-kills behave normally (Node as PID 1 ignores even its own SIGKILL)
//   node (setup) ...           the init's child: does every in-sandbox step, then runs the command
import { execFileSync } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { UnsupportedHostError } from './errors.cjs';
import { which } from './which.cjs';
import { CONTROL_FD, SAVED_STDERR_FD, SAVED_STDIN_FD, type Identity, type SandboxConfig } from './protocol.cjs';

/**
 * Every sandbox's command would be PID 2, and software that names temp files after its pid in a
 * shared directory (write-file-atomic, which Jest's transform cache uses) then collides across
 * sandboxes. So the init, still seeing the host's /proc, sets the next PID of its namespace to its own
 * host PID, which no other live sandbox's init has: the command gets a PID unique on the machine.
 * A subshell reads it (its parent's host pid): a variable that `read` sets in the init itself would be
 * exported to the command if the caller's environment had it (`_` often is).
 */
const UNIQUE_PID = `(read -r _ _ _ initpid _ </proc/self/stat && echo $((initpid - 1)) >/proc/sys/kernel/ns_last_pid) 2>/dev/null; `;

/**
 * The init runs the command as a background job so that its own stderr can stay silenced while it
 * waits (dash reports "Killed" for a foreground child, into the command's output); the command gets
 * the real stdin and stderr back from the saved fds. `wait` reaps orphans too. When the command ends
 * the init tells the host, waits for its ack (the host lists the leftovers meanwhile), then exits,
 * which makes the kernel kill everything left in the sandbox.
 */
const INIT =
  UNIQUE_PID +
  `exec ${SAVED_STDIN_FD}<&0 ${SAVED_STDERR_FD}>&2 2>/dev/null; ` +
  `"$@" 0<&${SAVED_STDIN_FD} 2>&${SAVED_STDERR_FD} ${SAVED_STDIN_FD}<&- ${SAVED_STDERR_FD}>&- ${CONTROL_FD}>&- & wait $!; s=$?; ` +
  `printf 'exit %s\\n' "$s" >&${CONTROL_FD}; read -r _ <&${CONTROL_FD}; exit "$s"`;

export const MIN_UTIL_LINUX = [2, 38] as const;
export const UTIL_LINUX_FIX = 'install util-linux 2.38 or later (Debian/Ubuntu: apt-get install util-linux; Fedora: dnf install util-linux; Alpine: apk add util-linux-misc setpriv)';


export function utilLinuxVersion(unshare: string): number[] | undefined {
  try {
    const out = execFileSync(unshare, ['--version'], { encoding: 'utf8', stdio: ['ignore', 'pipe', 'ignore'] });
    const match = /util-linux(?:-ng)? (\d+)\.(\d+)/.exec(out);
    return match ? [Number(match[1]), Number(match[2])] : undefined;
  } catch {
    return undefined;
  }
}

interface Tools {
  setpriv: string;
  unshare: string;
  sh: string;
}
let tools: Tools | undefined;

/** The stage-0 tools, or why this host lacks them. Shared by every sandbox start and `nsbox doctor`. */
export function findStage0Tools(): { tools: Tools; version: number[] } | { problem: string; fix: string } {
  const unshare = which('unshare');
  const setpriv = which('setpriv');
  const sh = fs.existsSync('/bin/sh') ? '/bin/sh' : which('sh');
  if (!unshare) return { problem: "util-linux's 'unshare' is not on PATH", fix: UTIL_LINUX_FIX };
  if (!setpriv) return { problem: "util-linux's 'setpriv' is not on PATH", fix: UTIL_LINUX_FIX };
  if (!sh) return { problem: 'no POSIX shell at /bin/sh', fix: 'install a POSIX shell (dash, bash or busybox) as /bin/sh' };
  const version = utilLinuxVersion(unshare);
  if (!version || version[0] < MIN_UTIL_LINUX[0] || (version[0] === MIN_UTIL_LINUX[0] && version[1] < MIN_UTIL_LINUX[1])) {
    return {
      problem: `util-linux ${version ? version.join('.') : '(unknown version)'} is too old (nsbox needs ${MIN_UTIL_LINUX.join('.')} for unshare --map-current-user)`,
      fix: UTIL_LINUX_FIX,
    };
  }
  return { tools: { setpriv, unshare, sh }, version };
}

/** Finds the stage-0 tools once per process; throws UnsupportedHostError naming the missing piece. */
export function stage0Tools(): Tools {
  if (tools) return tools;
  const found = findStage0Tools();
  if ('problem' in found) throw new UnsupportedHostError(found.problem, found.fix);
  tools = found.tools;
  return tools;
}

export function namespaceFlags(config: SandboxConfig, identity: Identity): string[] {
  const realRoot = process.getuid?.() === 0;
  const user = realRoot ? [] : identity === 'root' ? ['--user', '--map-root-user'] : ['--user', '--map-current-user', '--keep-caps'];
  const net = config.network === 'loopback' ? ['--net'] : [];
  return [...user, '--mount', '--propagation', 'private', '--uts', '--ipc', '--pid', ...net, '--kill-child'];
}

/** The file and arguments to spawn so that `command` runs as the init's child in a fresh sandbox. */
export function stage0(config: SandboxConfig, identity: Identity, command: string[]): { file: string; args: string[] } {
  const { setpriv, unshare, sh } = stage0Tools();
  return {
    file: setpriv,
    args: ['--pdeathsig', 'KILL', '--', unshare, ...namespaceFlags(config, identity), '--', sh, '-c', INIT, 'nsbox-init', ...command],
  };
}

/**
 * Stage 0 of a zygote: the death signal, and for a caller that is not root a user namespace of its own
 * with the capabilities kept (for the seccomp filter and for its sandboxes' unshare and mounts). Every
 * other namespace is left alone: each sandbox the zygote forks unshares its own.
 */
export function zygoteStage0(identity: Identity, command: string[]): { file: string; args: string[] } {
  const { setpriv, unshare } = stage0Tools();
  const realRoot = process.getuid?.() === 0;
  const user = realRoot ? [] : [unshare, ...(identity === 'root' ? ['--user', '--map-root-user'] : ['--user', '--map-current-user', '--keep-caps']), '--'];
  return { file: setpriv, args: ['--pdeathsig', 'KILL', '--', ...user, ...command] };
}
