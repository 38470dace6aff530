// The CI recipes of docs/ci-and-containers.md, as far as this machine can check them without Docker or a CI service:
// the seccomp profile for containers (recipes/seccomp-nsbox.json) is a well-formed Docker profile,
// and, compiled into a real seccomp filter, lets nsbox create sandboxes while refusing what it denies.
import { spawnSync } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { REPO } from './newcomer.js';

const PROFILE = path.join(REPO, 'recipes/seccomp-nsbox.json');
const UNDER_PROFILE = path.join(REPO, 'test/fixtures/seccomp-profile.cjs');
const CLI = path.join(REPO, 'packages/core/dist/cli.js');
const KOFFI = path.join(REPO, 'packages/core/node_modules/koffi');
const CI_DOC = fs.readFileSync(path.join(REPO, 'docs/ci-and-containers.md'), 'utf8');
const profile = JSON.parse(fs.readFileSync(PROFILE, 'utf8'));
const X86_64 = new Set(
  [...fs.readFileSync('/usr/include/x86_64-linux-gnu/asm/unistd_64.h', 'utf8').matchAll(/^#define __NR_(\w+) \d+$/gm)].map((m) => m[1]),
);
/** What nsbox itself calls (util-linux's unshare and setpriv, the sh init, the in-sandbox steps). */
const NSBOX_NEEDS = ['clone', 'clone3', 'unshare', 'mount', 'umount2', 'setns', 'sethostname', 'setdomainname', 'capset', 'prctl', 'ioctl', 'socket', 'execve'];
const ACTIONS = ['SCMP_ACT_ALLOW', 'SCMP_ACT_ERRNO', 'SCMP_ACT_KILL', 'SCMP_ACT_KILL_PROCESS', 'SCMP_ACT_KILL_THREAD', 'SCMP_ACT_TRAP', 'SCMP_ACT_TRACE', 'SCMP_ACT_LOG'];
const denied = (profile.syscalls as Array<{ names: string[]; action: string }>).filter((r) => r.action !== 'SCMP_ACT_ALLOW').flatMap((r) => r.names);

function underProfile(extra: string[], command: string[]) {
  return spawnSync(process.execPath, [UNDER_PROFILE, PROFILE, ...extra, '--', ...command], { encoding: 'utf8' });
}

/** syslog(SYSLOG_ACTION_SIZE_BUFFER): a read-only call the profile refuses. */
const SYSLOG_SIZE = `const k = require(${JSON.stringify(KOFFI)}); const r = Number(k.load('libc.so.6').func('long syscall(long, ...)')(103, 'int', 10, 'void *', null, 'int', 0)); console.log(r < 0 ? 'errno ' + k.errno() : 'ok')`;

describe('recipes/seccomp-nsbox.json', () => {
  it("is a Docker seccomp profile: known actions, architectures and x86_64 syscall names, one rule per name", () => {
    expect(ACTIONS).toContain(profile.defaultAction);
    for (const arch of profile.architectures) expect(arch).toMatch(/^SCMP_ARCH_[A-Z0-9_]+$/);
    expect(profile.syscalls.length).toBeGreaterThan(0);
    for (const rule of profile.syscalls) {
      expect(Object.keys(rule).every((k) => ['names', 'action', 'errnoRet', 'comment', 'args', 'includes', 'excludes'].includes(k)), JSON.stringify(rule)).toBe(true);
      expect(ACTIONS).toContain(rule.action);
      expect(rule.names.length).toBeGreaterThan(0);
      for (const name of rule.names) expect(X86_64.has(name), name).toBe(true);
      if (rule.action === 'SCMP_ACT_ERRNO') expect(rule.errnoRet).toBe(1);
    }
    expect(new Set(denied).size).toBe(denied.length);
  });

  it('refuses none of what nsbox needs, and is narrower than unconfined', () => {
    expect(denied.filter((name) => NSBOX_NEEDS.includes(name))).toEqual([]);
    expect(denied).toEqual(expect.arrayContaining(['init_module', 'kexec_load', 'reboot', 'open_by_handle_at', 'bpf']));
  });

  it('under it as a real seccomp filter, nsbox run works (loopback network included)', () => {
    const result = underProfile([], [process.execPath, CLI, 'run', '--network', 'loopback', '--', 'sh', '-c', 'hostname; grep ^Seccomp: /proc/self/status']);
    expect(result.status, result.stderr).toBe(0);
    expect(result.stdout).toMatch(/^nsbox-[0-9a-f]+\nSeccomp:\s+2\n$/);
  });

  it('under it, nsbox doctor says sandboxes can be created', () => {
    const result = underProfile([], [process.execPath, CLI, 'doctor']);
    expect(result.status, result.stdout + result.stderr).toBe(0);
    expect(result.stdout).toContain('Sandboxes can be created on this host.');
  });

  it('the filter is real: what the profile denies fails under it, and denying unshare too gets nsbox\'s seccomp diagnosis', () => {
    expect(spawnSync(process.execPath, ['-e', SYSLOG_SIZE], { encoding: 'utf8' }).stdout).toBe('ok\n');
    expect(underProfile([], [process.execPath, '-e', SYSLOG_SIZE]).stdout).toBe('errno 1\n');
    const blocked = underProfile(['--deny', 'unshare,mount'], [process.execPath, CLI, 'run', '--', 'true']);
    expect(blocked.status).toBe(125);
    expect(blocked.stderr).toMatch(/seccomp filter .* blocks unshare or mount/);
  });

  it('docs/ci-and-containers.md gives it to docker run', () => {
    expect(CI_DOC).toContain('--security-opt seccomp=recipes/seccomp-nsbox.json');
  });
});

describe("the CI recipes of docs/ci-and-containers.md", () => {
  it('GitHub Actions on ubuntu-24.04 lifts the AppArmor restriction before the tests', () => {
    const recipe = /```yaml\n(# \.github\/workflows\/[\s\S]*?)```/.exec(CI_DOC)?.[1] ?? '';
    expect(recipe).toContain('runs-on: ubuntu-24.04');
    const sysctl = recipe.indexOf('sudo sysctl -w kernel.apparmor_restrict_unprivileged_userns=0');
    expect(sysctl).toBeGreaterThan(0);
    expect(sysctl).toBeLessThan(recipe.indexOf('npm test'));
  });

  it('GitLab CI and Docker run nsbox doctor first, so a host that forbids sandboxes is named', () => {
    expect(/```yaml\n# \.gitlab-ci\.yml[\s\S]*?npx nsbox doctor[\s\S]*?npm test[\s\S]*?```/.test(CI_DOC)).toBe(true);
  });
});
