// What this host allows, each check with its cause and one-line fix. The last check starts a real
// sandbox: AppArmor's restriction, for one, lets `unshare -U` succeed and strips the capabilities later.
import { hostPlatform, platformProblem } from './platform.js';
import fs from 'node:fs';
import os from 'node:os';
import { findStage0Tools } from './stage0.js';
import { limitsReport } from './cgroup.js';
import { NsboxError, SetupError, UnsupportedHostError } from './errors.cjs';

export type CheckStatus = 'ok' | 'warn' | 'fail' | 'info';

export interface Check {
  id: string;
  title: string;
  status: CheckStatus;
  detail: string;
  cause?: string;
  fix?: string;
}

export interface HostReport {
  /** True when sandboxes can be created here. */
  ok: boolean;
  checks: Check[];
  /** The first failing check, for one-line diagnostics. */
  blocker?: Check;
}

function readSetting(file: string): string | undefined {
  try {
    return fs.readFileSync(file, 'utf8').trim();
  } catch {
    return undefined;
  }
}

const FIX_USERNS_SYSCTL = 'sudo sysctl -w user.max_user_namespaces=15000 (persist it in /etc/sysctl.d/)';
const FIX_DEBIAN_CLONE = 'sudo sysctl -w kernel.unprivileged_userns_clone=1';
const FIX_APPARMOR = 'sudo sysctl -w kernel.apparmor_restrict_unprivileged_userns=0, or give node an AppArmor profile with the userns permission';
const FIX_CONTAINER = 'run the container with --privileged (or --cap-add SYS_ADMIN --security-opt seccomp=unconfined --security-opt apparmor=unconfined)';
const FIX_SECCOMP = 'run the container with --security-opt seccomp=unconfined (or a profile that allows unshare, mount and setns), or use --privileged';

function seccompMode(): number {
  const status = readSetting('/proc/self/status') ?? '';
  return Number(/^Seccomp:\s*(\d)/m.exec(status)?.[1] ?? 0);
}

function staticChecks(): Check[] {
  const checks: Check[] = [];
  const problem = platformProblem();
  const linux = problem === undefined;
  checks.push({
    id: 'platform', title: 'Linux kernel', status: linux ? 'ok' : 'fail',
    detail: linux ? `Linux ${os.release()} (${process.arch})` : `${hostPlatform()} is not Linux`,
    ...(linux ? {} : { cause: problem, fix: "run the tests on Linux (a Linux VM, container or CI runner); elsewhere the adapters run the files unsandboxed (their default onUnsupported there is 'warn')" }),
  });
  if (!linux) return checks;

  const root = process.getuid?.() === 0;
  checks.push({ id: 'identity', title: 'Privileges', status: 'info', detail: root ? 'real root: sandboxes need no user namespace' : `unprivileged (uid ${process.getuid?.()}): sandboxes use a user namespace` });

  const stage0 = findStage0Tools();
  checks.push(
    'problem' in stage0
      ? { id: 'util-linux', title: 'util-linux unshare and setpriv', status: 'fail', detail: stage0.problem, cause: stage0.problem, fix: stage0.fix }
      : { id: 'util-linux', title: 'util-linux unshare and setpriv', status: 'ok', detail: `util-linux ${stage0.version.join('.')} at ${stage0.tools.unshare}` },
  );

  if (!root) {
    const max = readSetting('/proc/sys/user/max_user_namespaces');
    checks.push({
      id: 'max_user_namespaces', title: 'User namespaces enabled', status: max === '0' ? 'fail' : 'ok',
      detail: `user.max_user_namespaces = ${max ?? '(absent)'}`,
      ...(max === '0' ? { cause: 'user namespaces are switched off (user.max_user_namespaces = 0)', fix: FIX_USERNS_SYSCTL } : {}),
    });
    const clone = readSetting('/proc/sys/kernel/unprivileged_userns_clone');
    if (clone !== undefined) {
      checks.push({
        id: 'unprivileged_userns_clone', title: 'Unprivileged user namespaces (Debian switch)', status: clone === '0' ? 'fail' : 'ok',
        detail: `kernel.unprivileged_userns_clone = ${clone}`,
        ...(clone === '0' ? { cause: 'unprivileged user namespaces are switched off (kernel.unprivileged_userns_clone = 0)', fix: FIX_DEBIAN_CLONE } : {}),
      });
    }
    const apparmor = readSetting('/proc/sys/kernel/apparmor_restrict_unprivileged_userns');
    if (apparmor !== undefined) {
      checks.push({
        id: 'apparmor_restrict_unprivileged_userns', title: 'AppArmor user namespace restriction', status: apparmor === '1' ? 'warn' : 'ok',
        detail: `kernel.apparmor_restrict_unprivileged_userns = ${apparmor}`,
        ...(apparmor === '1' ? { cause: 'AppArmor strips capabilities in new user namespaces (Ubuntu 23.10+)', fix: FIX_APPARMOR } : {}),
      });
    }
  }
  const seccomp = seccompMode();
  checks.push({
    id: 'seccomp', title: 'Seccomp filter', status: seccomp === 2 ? 'warn' : 'ok',
    detail: seccomp === 2 ? 'a seccomp filter is active (a container runtime?); it may block unshare or mount' : 'no seccomp filter',
  });
  // Limits are optional: a host without them still runs sandboxes, so this is information, with the fix.
  const limits = limitsReport();
  checks.push({
    id: 'cgroup2', title: 'Resource limits (cgroup v2)', status: 'info', detail: limits.detail,
    ...(limits.problem ? { cause: limits.problem, fix: limits.fix } : {}),
  });
  return checks;
}

/** Names the cause of a failed live sandbox from what failed and what the static checks saw. */
function explainLiveFailure(message: string, checks: Check[]): { cause: string; fix: string } {
  const failing = checks.find((c) => c.status === 'fail' && c.cause && c.fix);
  if (failing) return { cause: failing.cause!, fix: failing.fix! };
  const apparmor = checks.find((c) => c.id === 'apparmor_restrict_unprivileged_userns' && c.status === 'warn');
  const seccomp = checks.find((c) => c.id === 'seccomp' && c.status === 'warn');
  if (/No space left on device|ENOSPC/.test(message)) return { cause: 'the user namespace limit is reached or zero', fix: FIX_USERNS_SYSCTL };
  if (apparmor && /EPERM|EACCES|Operation not permitted|Permission denied/.test(message)) {
    return { cause: 'AppArmor strips capabilities in new user namespaces (kernel.apparmor_restrict_unprivileged_userns = 1)', fix: FIX_APPARMOR };
  }
  if (seccomp && /EPERM|Operation not permitted/.test(message)) return { cause: 'a seccomp filter (such as Docker\'s default profile) blocks unshare or mount', fix: FIX_SECCOMP };
  // unshare succeeded but the setup's first mount was refused: the new namespace came without capabilities.
  if (/sandbox setup failed at step .* failed with EPERM/.test(message)) {
    return process.getuid?.() === 0
      ? { cause: 'root here lacks CAP_SYS_ADMIN (an unprivileged container?)', fix: FIX_CONTAINER }
      : { cause: 'new user namespaces get no capabilities here: AppArmor\'s user namespace restriction (Ubuntu 23.10+) or a similar security policy', fix: FIX_APPARMOR };
  }
  if (/EPERM|Operation not permitted/.test(message)) {
    return process.getuid?.() === 0
      ? { cause: 'the kernel refused to create namespaces: root here lacks CAP_SYS_ADMIN or a security policy denies unshare', fix: FIX_CONTAINER }
      : { cause: 'the kernel refused to create namespaces for this user (a security module or sysctl)', fix: `${FIX_USERNS_SYSCTL}; on Ubuntu: ${FIX_APPARMOR}` };
  }
  return { cause: 'a sandbox could not be started', fix: "run 'nsbox run -- true' to see the full error" };
}

async function liveCheck(): Promise<Check> {
  const title = 'A real sandbox starts';
  const { spawn } = await import('./sandbox.js');
  const started = Date.now();
  let stderr = '';
  try {
    const child = spawn('true', [], { stdio: ['ignore', 'ignore', 'pipe'], timeout: 20_000 });
    child.stderr!.setEncoding('utf8').on('data', (d: string) => (stderr += d));
    // 'close', not just the exit: unshare's own error message may still be in the stderr pipe.
    const closed = new Promise((resolve) => child.once('close', resolve));
    const [readyResult, exit] = await Promise.all([child.ready.then(() => undefined, (e: Error) => e), child.exited, closed]);
    if (readyResult) {
      const call = readyResult instanceof SetupError ? `${readyResult.call} → ${readyResult.errno}` : '';
      const message = readyResult.message.replace(/; run 'nsbox doctor'.*$/, '');
      return { id: 'sandbox', title, status: 'fail', detail: [message, call, stderr.trim()].filter(Boolean).join('; ') };
    }
    if (exit.code !== 0) return { id: 'sandbox', title, status: 'fail', detail: `exited with ${exit.code}: ${stderr.trim()}` };
    return { id: 'sandbox', title, status: 'ok', detail: `nsbox run -- true took ${Date.now() - started} ms` };
  } catch (error) {
    return { id: 'sandbox', title, status: 'fail', detail: error instanceof NsboxError ? error.message : String(error) };
  }
}

/**
 * After a sandbox failed to start (a StartError or SetupError), the host's exact cause and one-line
 * fix, from the doctor's checks: what the adapters report.
 */
export async function diagnose(failure: Error): Promise<UnsupportedHostError> {
  const report = await probeHost();
  const blocker = report.blocker;
  const what = failure.message.replace(/; run 'nsbox doctor'.*$/, '');
  if (!report.ok && blocker?.cause && blocker.fix) return new UnsupportedHostError(blocker.cause, blocker.fix, what);
  return new UnsupportedHostError(failure.message, "run 'npx nsbox doctor' for this host's checks");
}

export async function probeHost(): Promise<HostReport> {
  const checks = staticChecks();
  const hardFail = checks.some((c) => c.status === 'fail' && (c.id === 'platform' || c.id === 'util-linux'));
  const live: Check = hardFail
    ? { id: 'sandbox', title: 'A real sandbox starts', status: 'fail', detail: 'not tried: a check above failed' }
    : await liveCheck();
  if (live.status === 'fail') Object.assign(live, explainLiveFailure(live.detail, checks));
  checks.push(live);
  const ok = live.status === 'ok';
  return { ok, checks, blocker: ok ? undefined : (checks.find((c) => c.status === 'fail' && c.cause) ?? live) };
}
