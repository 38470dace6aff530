// Faults and bad input through the adapters: a file that never ends, a runner killed mid-file, and
// every nsbox option given a bad value.
import { describe, expect, test } from 'vitest';
import fs from 'node:fs';
import path from 'node:path';
import { spawn } from 'node:child_process';
import nsboxPool from '../../packages/vitest-pool/dist/index.js';
import { descendantsOf } from '../../packages/core/dist/leftovers.js';
import { run, waitUntilGone } from '../../packages/core/test/helpers.js';

const E2E = path.resolve(import.meta.dirname, '..');
const SUITE = path.join(E2E, 'suite');
const VITEST = path.join(E2E, 'vitest4/node_modules/vitest/vitest.mjs');
const JEST = path.join(SUITE, 'node_modules/jest/bin/jest.js');
const env = { ...process.env, CI: 'true', NO_COLOR: '1', FORCE_COLOR: '0' };


async function withResults<T>(fn: (dir: string) => Promise<T>): Promise<T> {
  const dir = fs.mkdtempSync(path.join(SUITE, '.results-'));
  try {
    return await fn(dir);
  } finally {
    fs.rmSync(dir, { recursive: true, force: true });
  }
}

describe('a file that never ends', () => {
  test('[fault] Vitest: the per-file timeout kills its whole sandbox and says so', () =>
    withResults(async (results) => {
      const r = await run(process.execPath, [VITEST, 'run', '-c', 'vitest.slow.config.mjs'], { cwd: path.join(E2E, 'vitest4'), env: { ...env, NSBOX_E2E_RESULTS: results, NSBOX_E2E_TIMEOUT: '3000' } });
      expect(r.status).not.toBe(0);
      expect(r.stderr).toContain('[nsbox] tests-shared/slow.test.js timed out after 3000 ms; its whole sandbox was killed');
      // The file waits on a timer: its event loop is idle, not stuck.
      expect(r.stderr).toMatch(/\[nsbox\] at the timeout, its test process \(host pid \d+\) was sleeping in epoll_p?wait\(\) \(its event loop, idle/);
    }));

  test('[fault] Jest: the per-file timeout kills its whole sandbox and says so', () =>
    withResults(async (results) => {
      const r = await run(process.execPath, [JEST, '--roots=<rootDir>/jest-slow', '--testEnvironmentOptions={"nsbox":{"timeout":3000}}'], { cwd: SUITE, env: { ...env, NSBOX_E2E_RESULTS: results } });
      expect(r.status).toBe(1);
      expect(r.stderr).toContain('nsbox: jest-slow/slow.test.cjs timed out after 3000 ms; its whole sandbox was killed');
      expect(r.stderr).toMatch(/At the timeout, its test process \(host pid \d+\) was sleeping in epoll_p?wait\(\) \(its event loop, idle/);
    }));
});

describe.each([{ mode: 'zygote' }, { mode: 'fresh' }])('a file that fills its /tmp ($mode mode)', ({ mode }) => {
  const said = (option: string, file: string) =>
    `[nsbox] ${file} filled its /tmp (1 MiB, a tmpfs in memory): writes there failed with ENOSPC once it was full; raise it with ${option}`;

  test('[fault] Jest says which mount, its size and the option that raises it', () =>
    withResults(async (results) => {
      const options = JSON.stringify({ nsbox: { tmpfsSize: '1m', mode } });
      const r = await run(process.execPath, [JEST, '--roots=<rootDir>/jest-fill', `--testEnvironmentOptions=${options}`], { cwd: SUITE, env: { ...env, NSBOX_E2E_RESULTS: results } });
      expect(r.stderr).toContain(said('testEnvironmentOptions.nsbox.tmpfsSize', 'jest-fill/fill.test.cjs'));
      expect(r.status).toBe(0);
    }));

  test('[fault] Vitest says which mount, its size and the option that raises it', () =>
    withResults(async (results) => {
      const r = await run(process.execPath, [VITEST, 'run', '-c', 'vitest.fill.config.mjs'], { cwd: path.join(E2E, 'vitest4'), env: { ...env, NSBOX_E2E_RESULTS: results, NSBOX_E2E_MODE: mode } });
      expect(r.stdout + r.stderr).toContain(said("vitest-pool-nsbox option 'tmpfsSize'", 'tests-shared/fill.test.js'));
      expect(r.status).toBe(0);
    }));
});

describe('a run interrupted mid-file says what each running file was doing', () => {
  // SIGINT to the runner alone (as a CI job's cancel or `kill -INT` sends it; a terminal's Ctrl-C
  // reaches the test processes too, which then end with it).
  const interrupted = (command: string[], cwd: string, results: string) =>
    new Promise<{ signal: NodeJS.Signals | null; stderr: string }>((resolve) => {
      const runner = spawn(process.execPath, command, { cwd, env: { ...env, NSBOX_E2E_RESULTS: results }, stdio: ['ignore', 'ignore', 'pipe'] });
      let stderr = '';
      runner.stderr.setEncoding('utf8').on('data', (d: string) => (stderr += d));
      const poll = setInterval(() => {
        if (fs.existsSync(path.join(results, 'where-slow.json'))) {
          clearInterval(poll);
          runner.kill('SIGINT');
        }
      }, 50);
      runner.once('close', (_code, signal) => {
        clearInterval(poll);
        resolve({ signal, stderr });
      });
    });

  test('[fault] Jest', () =>
    withResults(async (results) => {
      const r = await interrupted([JEST, '--roots=<rootDir>/jest-slow'], SUITE, results);
      expect(r.stderr).toMatch(/\[nsbox\] interrupted while jest-slow\/slow\.test\.cjs ran \(\d+\.\d s\): its test process \(host pid \d+\) was sleeping in epoll_p?wait\(\)/);
      // Nothing else listens for SIGINT in Jest: the signal then ends it as it would have.
      expect(r.signal).toBe('SIGINT');
    }));

  test('[fault] Vitest', () =>
    withResults(async (results) => {
      const r = await interrupted([VITEST, 'run', '-c', 'vitest.slow.config.mjs'], path.join(E2E, 'vitest4'), results);
      expect(r.stderr).toMatch(/\[nsbox\] interrupted while tests-shared\/slow\.test\.js ran \(\d+\.\d s\): its test process \(host pid \d+\) was sleeping in epoll_p?wait\(\)/);
    }));
});

test('[fault] SIGKILL of Jest mid-file leaves no sandbox behind', () =>
  withResults(async (results) => {
    const jest = spawn(process.execPath, [JEST, '--roots=<rootDir>/jest-slow'], { cwd: SUITE, env: { ...env, NSBOX_E2E_RESULTS: results }, stdio: 'ignore' });
    const deadline = Date.now() + 30_000;
    while (!fs.existsSync(path.join(results, 'where-slow.json')) && Date.now() < deadline) await new Promise((r) => setTimeout(r, 50));
    const sandboxed = descendantsOf(jest.pid!);
    expect(sandboxed.length).toBeGreaterThanOrEqual(3);
    jest.kill('SIGKILL');
    expect(await waitUntilGone(sandboxed)).toEqual([]);
  }));

// Each adapter names the option its own way (`vitest-pool-nsbox option 'network'`,
// `testEnvironmentOptions.nsbox.network`); the value and what is allowed read the same.
const badOptions: [string, Record<string, unknown>, string][] = [
  ['network', { network: 'wifi' }, "'wifi': expected 'host' or 'loopback'"],
  ['hostname', { hostname: 'bad_name!' }, "'bad_name!': expected 1 to 64 letters"],
  ['tmpfsSize', { tmpfsSize: 'big' }, "'big': expected a tmpfs size"],
  ['tmpfs', { tmpfs: ['relative'] }, "'relative': the mount point must be absolute"],
  ['bind', { bind: ['/no/such/path'] }, "'/no/such/path': the source does not exist"],
  ['roBind', { roBind: '/etc' }, "'/etc': expected a list of strings"],
  ['readOnly', { readOnly: 'yes' }, "'yes': expected true or false"],
  ['writable', { writable: ['/tmp'] }, '["/tmp"]: only means something with'],
  ['identity', { identity: 'admin' }, "'admin': expected 'caller' or 'root'"],
  ['timeout', { timeout: -5 }, '-5: expected a positive number of milliseconds'],
  ['expose', { expose: ['/no/such/dir'] }, "'/no/such/dir': the path does not exist"],
  ['onUnsupported', { onUnsupported: 'ignore' }, "'ignore': expected 'error' (fail the run) or 'warn'"],
  ['netwerk', { netwerk: 'host' }, "'host': unknown option; known options: hostname, network"],
];

describe('every adapter option with a bad value is one clear error', () => {
  test.each(badOptions)('[input] vitest-pool-nsbox: %s', (name, options, message) => {
    expect(() => nsboxPool(options as never)).toThrow(`invalid vitest-pool-nsbox option '${name}' ${message}`);
  });

  test.each(badOptions)('[input] jest-environment-nsbox: %s', async (name, options, message) => {
    const r = await run(process.execPath, [JEST, 'snapshot', `--testEnvironmentOptions=${JSON.stringify({ nsbox: options })}`], { cwd: SUITE, env });
    expect(r.status).toBe(1);
    expect(r.stderr).toContain(`OptionError: invalid testEnvironmentOptions.nsbox.${name} ${message}`);
    expect(r.stderr).not.toMatch(/\n\s+at .*nsbox/);
  });

  test('[input] jest-environment-nsbox: mode', async () => {
    const r = await run(process.execPath, [JEST, 'snapshot', `--testEnvironmentOptions=${JSON.stringify({ nsbox: { mode: 'warm' } })}`], { cwd: SUITE, env });
    expect(r.status).toBe(1);
    expect(r.stderr).toContain("OptionError: invalid testEnvironmentOptions.nsbox.mode 'warm': expected 'zygote' or 'fresh'");
    expect(r.stderr).not.toMatch(/\n\s+at .*nsbox/);
  });
});
