// `nsbox doctor` and `nsbox run` on hosts that cannot create sandboxes: each names the exact cause and
// the one-line fix. Every host is simulated without changing the real host's settings.
import { afterAll, describe, expect, test } from 'vitest';
import { CLI, NOBODY, asNobody, run } from './helpers.js';
import { capabilitiesStripped, cleanupHost, oldUtilLinux, runWithUserNamespacesOff, seccompDenied, withoutUtilLinux, type SimulatedHost } from './hosts.js';

const hosts: SimulatedHost[] = [withoutUtilLinux(), oldUtilLinux(), seccompDenied(), capabilitiesStripped(true)];
afterAll(() => hosts.forEach(cleanupHost));

function cli(host: SimulatedHost, args: string[]) {
  const [file, ...rest] = host.wrap([process.execPath, CLI, ...args]);
  return run(file, rest, { env: { ...process.env, ...host.env } });
}

describe.each(hosts)('$name', (host) => {
  test('[host] doctor fails and names the cause and the fix', async () => {
    const r = await cli(host, ['doctor', '--json']);
    expect(r.status).toBe(1);
    const report = JSON.parse(r.stdout);
    expect(report.ok).toBe(false);
    expect(report.blocker.cause).toMatch(host.cause);
    expect(report.blocker.fix).toMatch(host.fix);
  });

  test('[host] nsbox run refuses with the cause and the fix, and runs nothing', async () => {
    const r = await cli(host, ['run', '--', 'sh', '-c', 'echo ran']);
    expect(r.status).toBe(125);
    expect(r.stdout).toBe('');
    expect(r.stderr).toMatch(host.cause);
    expect(r.stderr).toMatch(host.fix);
    expect(r.stderr).not.toMatch(/\n\s+at /);
  });
});

describe(`unprivileged (uid ${NOBODY})`, () => {
  test('[host] user namespaces switched off (user.max_user_namespaces = 0)', async () => {
    const r = await runWithUserNamespacesOff([process.execPath, CLI, 'doctor', '--json']);
    const report = JSON.parse(r.stdout);
    expect(report.ok).toBe(false);
    expect(report.checks.find((c: { id: string }) => c.id === 'max_user_namespaces').status).toBe('fail');
    expect(report.blocker.cause).toBe('user namespaces are switched off (user.max_user_namespaces = 0)');
    expect(report.blocker.fix).toMatch(/sysctl -w user\.max_user_namespaces=/);
  });

  test('[host] AppArmor-style capability stripping in a new user namespace', async () => {
    const host = capabilitiesStripped(false);
    hosts.push(host);
    // Only the unprivileged doctor sees the stripping unshare; the root sandbox around it (if any) does not.
    const r = await asNobody(['env', `PATH=${host.env.PATH}`, process.execPath, CLI, 'doctor', '--json']);
    const report = JSON.parse(r.stdout);
    expect(report.ok).toBe(false);
    expect(report.blocker.cause).toMatch(host.cause);
    expect(report.blocker.fix).toMatch(host.fix);
  });
});
