// Both adapters on a host that cannot create sandboxes (a real seccomp filter denying unshare and
// mount, as Docker's default profile): the cause and the fix by default, a loud unsandboxed run with
// onUnsupported: 'warn', never a silent one.
import { afterAll, describe, expect, test } from 'vitest';
import fs from 'node:fs';
import path from 'node:path';
import { run } from '../../packages/core/test/helpers.js';
import { seccompDenied } from '../../packages/core/test/hosts.js';

const E2E = path.resolve(import.meta.dirname, '..');
const SUITE = path.join(E2E, 'suite');
const host = seccompDenied();
const SECCOMP_DENY = path.resolve(E2E, '../packages/core/test/fixtures/seccomp-deny.cjs');
const results = fs.mkdtempSync(path.join(SUITE, '.results-'));
afterAll(() => fs.rmSync(results, { recursive: true, force: true }));
const env = { ...process.env, CI: 'true', NO_COLOR: '1', FORCE_COLOR: '0', NSBOX_E2E_RESULTS: results };

function onHost(command: string[], cwd: string, extraEnv: NodeJS.ProcessEnv = {}) {
  const [file, ...args] = host.wrap(command);
  return run(file, args, { cwd, env: { ...env, ...extraEnv } });
}

const runners = [
  {
    name: 'Vitest',
    command: (warn: boolean) => ({ cmd: [process.execPath, path.join(E2E, 'vitest4/node_modules/vitest/vitest.mjs'), 'run', 'tests/snapshot.test.js'], cwd: path.join(E2E, 'vitest4'), env: warn ? { NSBOX_E2E_ON_UNSUPPORTED: 'warn' } : {} }),
  },
  {
    name: 'Jest',
    command: (warn: boolean) => ({
      cmd: [process.execPath, path.join(SUITE, 'node_modules/jest/bin/jest.js'), 'snapshot', ...(warn ? ['--testEnvironmentOptions={"nsbox":{"onUnsupported":"warn"}}'] : [])],
      cwd: SUITE,
      env: {},
    }),
  },
];

describe.each(runners)('$name on a host whose seccomp filter denies unshare', ({ command }) => {
  test('[host] fails with the cause and the fix, running no test', async () => {
    const { cmd, cwd, env: extra } = command(false);
    const r = await onHost(cmd, cwd, extra);
    const output = r.stdout + r.stderr;
    expect(r.status).not.toBe(0);
    expect(output).toMatch(host.cause);
    expect(output).toMatch(host.fix);
    expect(output).not.toMatch(/✓|PASS/);
  });

  test("[host] with onUnsupported: 'warn' runs the files unsandboxed, under a loud warning", async () => {
    const { cmd, cwd, env: extra } = command(true);
    const r = await onHost(cmd, cwd, extra);
    const output = r.stdout + r.stderr;
    expect(output).toContain('TEST FILES ARE RUNNING WITHOUT A SANDBOX');
    expect(output).toMatch(host.cause);
    expect(r.status).toBe(0);
  });
});

const zygoteRunners = [
  {
    name: 'Jest',
    cmd: [process.execPath, path.join(SUITE, 'node_modules/jest/bin/jest.js'), '(snapshot|daemon)'],
    cwd: SUITE,
    passed: /Tests:\s+2 passed, 2 total/,
    daemon: /\[nsbox\] jest-tests\/daemon\.test\.cjs left 1 process running; killed:/,
  },
  {
    name: 'Vitest',
    cmd: [process.execPath, path.join(E2E, 'vitest4/node_modules/vitest/vitest.mjs'), 'run', 'tests/snapshot.test.js', 'tests/daemon.test.js'],
    cwd: path.join(E2E, 'vitest4'),
    passed: /Tests\s+2 passed \(2\)/,
    daemon: /\[nsbox\] tests\/daemon\.test\.js left 1 process running; killed:/,
  },
];

describe.each(zygoteRunners)('$name in zygote mode (the default) on a host where the warm zygote cannot start (seccomp() itself denied)', ({ cmd, cwd, passed, daemon }) => {
  test('[fault] says why once, then runs every file in a fresh sandbox', async () => {
    const r = await run(process.execPath, [SECCOMP_DENY, 'seccomp', '--', ...cmd], { cwd, env });
    const output = r.stdout + r.stderr;
    const said = output.split('\n').filter((line) => line.startsWith('[nsbox] the warm zygote could not start'));
    expect(said).toHaveLength(1);
    expect(said[0]).toContain('seccomp(SECCOMP_SET_MODE_FILTER');
    expect(output).toMatch(passed);
    // Sandboxed all the same: the daemon one file leaves is reported and killed by its sandbox.
    expect(output).toMatch(daemon);
    expect(r.status).toBe(0);
  });
});
