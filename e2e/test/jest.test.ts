// A real Jest 30 project run through jest-environment-nsbox, in all three config forms, checked from outside.
import { beforeAll, describe, expect, test } from 'vitest';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { processesOfThisRun, run, waitUntilGone, type Result } from '../../packages/core/test/helpers.js';

const E2E = path.resolve(import.meta.dirname, '..');
const SUITE = path.join(E2E, 'suite');
const PROJECT = SUITE;
const JEST = path.join(PROJECT, 'node_modules/jest/bin/jest.js');

function jest(args: string[], env: NodeJS.ProcessEnv = {}): Promise<Result> {
  return run(process.execPath, [JEST, ...args], { cwd: PROJECT, env: { ...process.env, CI: 'true', FORCE_COLOR: '0', ...env } });
}

function withoutTimings(output: string): string {
  return output.replace(/\(\d+ ms\)/g, '(N ms)').replace(/^Time:.*$/m, 'Time: N').replace(/\n\[nsbox\][^\n]*\n( {2}pid[^\n]*\n)*/g, '\n');
}

type Facts = { pid: number; ppid: number; hostname: string; resolved: string; tmpBefore: string[]; tmpAfter: string[]; processes: number; queues: number; jestWorkerId: string; portSharedByAll: boolean; forkedFromZygote: boolean };

describe.each([
  { form: "preset: 'jest-environment-nsbox'", config: 'jest.config.cjs', mode: 'zygote' },
  { form: "testEnvironment: 'nsbox' plus the runner line", config: 'jest.runner.config.cjs', mode: 'zygote' },
  { form: "preset, mode: 'fresh'", config: 'jest.config.cjs', mode: 'fresh' },
])('Jest 30, $form', ({ config, mode }) => {
  let result: Result;
  let results: string;
  const facts = (name: string): Facts => JSON.parse(fs.readFileSync(path.join(results, `${name}.json`), 'utf8'));

  beforeAll(async () => {
    // In the project (which nsbox keeps visible), not in /tmp: each sandbox has its own /tmp.
    results = fs.mkdtempSync(path.join(SUITE, '.results-'));
    result = await jest(['-c', config], { NSBOX_E2E_RESULTS: results, ...(mode === 'fresh' ? { NSBOX_E2E_MODE: 'fresh' } : {}) });
    return () => fs.rmSync(results, { recursive: true, force: true });
  });

  test('the run passes', () => {
    expect(result.stderr).toMatch(/Test Suites: 1 skipped, 5 passed, 5 of 6 total/);
    expect(result.status).toBe(0);
  });

  test('every file runs under its own init, with its own PID, hostname, /tmp and IPC', () => {
    const seen = ['a', 'b', 'c'].map((n) => facts(`isolation-${n}`));
    for (const [i, f] of seen.entries()) {
      const name = ['a', 'b', 'c'][i];
      expect(f.ppid).toBe(1);
      expect(f.forkedFromZygote).toBe(mode === 'zygote'); // the default mode is the zygote
      expect(f.processes).toBeLessThanOrEqual(3);
      expect(f.resolved).toMatch(new RegExp(`^127\\.0\\.1\\.1\\s+${f.hostname}$`));
      expect(f.tmpBefore.filter((e) => e.endsWith('-was-here'))).toEqual([]);
      expect(f.tmpAfter.filter((e) => e.endsWith('-was-here'))).toEqual([`${name}-was-here`]);
      expect(f.queues).toBe(1);
      expect(f.portSharedByAll).toBe(true);
      expect(fs.existsSync(`/tmp/${name}-was-here`)).toBe(false);
    }
    expect(new Set(seen.map((f) => f.hostname)).size).toBe(3);
    expect(new Set(seen.map((f) => f.pid)).size).toBe(3);
  });

  test('JEST_WORKER_ID is a worker slot, as with stock Jest', () => {
    const ids = ['a', 'b', 'c'].map((n) => Number(facts(`isolation-${n}`).jestWorkerId)).sort();
    expect(ids).toEqual([1, 2, 3]);
  });

  test('[fault] a daemon left by a file is reported with its file and killed', () => {
    expect(result.stderr).toMatch(/\[nsbox\] jest-tests\/daemon\.test\.cjs left 1 process running; killed:\n {2}pid \d+: sleep 3201\n/);
    expect(processesOfThisRun(/^sleep 3201$/)).toEqual([]);
  });
});

describe('Jest 30 behaves as stock Jest', () => {
  let results: string;
  beforeAll(() => {
    results = fs.mkdtempSync(path.join(SUITE, '.results-'));
    return () => fs.rmSync(results, { recursive: true, force: true });
  });

  test('failing-test output is identical to stock Jest except timings', async () => {
    const env = { NSBOX_E2E_FAIL: '1', NSBOX_E2E_RESULTS: results };
    const sandboxed = await jest(['failing'], env);
    const stock = await jest(['-c', 'jest.stock.config.cjs', 'failing'], env);
    expect(sandboxed.status).toBe(1);
    expect(sandboxed.stderr).toContain('at Object.<anonymous> (lib/cases.cjs:36:20)');
    expect(withoutTimings(sandboxed.stderr)).toBe(withoutTimings(stock.stderr));
  });

  test('the environment alone fails every file at once, with the line to add', async () => {
    const r = await jest(['-c', 'jest.env-only.config.cjs', 'snapshot'], { NSBOX_E2E_RESULTS: results });
    expect(r.status).toBe(1);
    expect(r.stderr).toContain("Add this line to your Jest config: runner: 'jest-environment-nsbox/runner'");
  });

  test.each(['babel', 'v8'])('%s coverage is collected from inside the sandbox', async (provider) => {
    const reports = fs.mkdtempSync(path.join(os.tmpdir(), 'nsbox-jest-coverage-'));
    try {
      const r = await jest(['snapshot', '--coverage', `--coverageProvider=${provider}`, '--coverageReporters=json-summary', `--coverageDirectory=${reports}`], { NSBOX_E2E_RESULTS: results });
      expect(r.status).toBe(0);
      const summary = JSON.parse(fs.readFileSync(path.join(reports, 'coverage-summary.json'), 'utf8'));
      expect(summary[path.join(SUITE, 'lib/math.cjs')].functions).toMatchObject({ total: 2, covered: 1 });
    } finally {
      fs.rmSync(reports, { recursive: true, force: true });
    }
  });

  test('snapshots: --ci refuses to write, a new one is written, obsolete ones are reported and removed by -u', async () => {
    const file = path.join(SUITE, 'jest-tests/__snapshots__/snapshot.test.cjs.snap');
    const committed = fs.readFileSync(file, 'utf8');
    const env = { NSBOX_E2E_RESULTS: results };
    try {
      fs.rmSync(file);
      const ci = await jest(['snapshot', '--ci'], env);
      expect(ci.status).toBe(1);
      expect(ci.stderr).toContain('New snapshot was not written');
      const written = await jest(['snapshot', '--ci=false'], env);
      expect(written.stderr).toContain('1 snapshot written');
      expect(fs.readFileSync(file, 'utf8')).toBe(committed);
      fs.writeFileSync(file, `${committed}\nexports[\`gone 1\`] = \`"old"\`;\n`);
      const obsolete = await jest(['snapshot'], env);
      expect(obsolete.stderr).toContain('1 snapshot obsolete');
      await jest(['snapshot', '-u'], env);
      expect(fs.readFileSync(file, 'utf8')).toBe(committed);
    } finally {
      fs.writeFileSync(file, committed);
    }
  });

  test("custom reporters get every test's events", async () => {
    const log = path.join(results, 'events.json');
    const r = await jest(['isolation', '--reporters=default', '--reporters=./reporter.cjs'], { NSBOX_E2E_RESULTS: results, NSBOX_E2E_EVENTS: log });
    expect(r.status).toBe(0);
    const events = JSON.parse(fs.readFileSync(log, 'utf8')) as { event: string; title?: string; status?: string }[];
    expect(events.filter((e) => e.event === 'onTestCaseResult').map((e) => `${e.title}: ${e.status}`).sort()).toEqual([
      'file a sees only its own sandbox: passed',
      'file b sees only its own sandbox: passed',
      'file c sees only its own sandbox: passed',
    ]);
  });

  test('-i and --maxWorkers=1 still give every file its own sandbox', async () => {
    for (const flag of ['-i', '--maxWorkers=1']) {
      const r = await jest(['snapshot', 'daemon', flag], { NSBOX_E2E_RESULTS: results });
      expect(r.status).toBe(0);
      expect(r.stderr).toContain('[nsbox] jest-tests/daemon.test.cjs left 1 process running');
    }
  });

  test('[fault] a file that exits or SIGKILLs itself fails with a clear message; the run goes on', async () => {
    const r = await jest(['-c', 'jest.crash.config.cjs'], { NSBOX_E2E_RESULTS: results });
    expect(r.status).toBe(1);
    expect(r.stderr).toContain('nsbox: the process running jest-crash/exit.test.cjs exited with code 3 (process.exit() called?) before it reported a result');
    expect(r.stderr).toContain('nsbox: the process running jest-crash/self-kill.test.cjs was killed by SIGKILL');
    expect(r.stderr).toMatch(/PASS jest-crash\/survivor\.test\.cjs/);
    expect(r.stderr).toContain('Test Suites: 2 failed, 1 passed, 3 total');
  });

  test('[input] bad nsbox options in testEnvironmentOptions are one clear error', async () => {
    const r = await jest(['snapshot', '--testEnvironmentOptions={"nsbox":{"network":"wifi"}}'], { NSBOX_E2E_RESULTS: results });
    expect(r.status).toBe(1);
    expect(r.stderr).toContain("invalid testEnvironmentOptions.nsbox.network 'wifi': expected 'host' or 'loopback'");
  });
});

test('--watchAll reruns a changed file in a fresh sandbox, and quitting leaves nothing', async () => {
  const results = fs.mkdtempSync(path.join(SUITE, '.results-'));
  const { spawn } = await import('node:child_process');
  const { descendantsOf } = await import('../../packages/core/dist/leftovers.js');
  const jest = spawn(process.execPath, [JEST, '--watchAll', 'snapshot'], { cwd: SUITE, env: { ...process.env, CI: 'true', FORCE_COLOR: '0', NSBOX_E2E_RESULTS: results }, stdio: ['ignore', 'ignore', 'pipe'] });
  let output = '';
  jest.stderr!.setEncoding('utf8').on('data', (d: string) => (output += d));
  const runs = () => output.split('Ran all test suites').length - 1;
  const waitFor = async (n: number) => {
    const deadline = Date.now() + 90_000; // a safety net: each run ends the wait as soon as it prints
    while (runs() < n && Date.now() < deadline) await new Promise((r) => setTimeout(r, 50));
  };
  try {
    await waitFor(1);
    const file = path.join(SUITE, 'jest-tests/snapshot.test.cjs');
    fs.utimesSync(file, new Date(), new Date());
    await waitFor(2);
    expect(runs()).toBe(2);
    expect(output.match(/PASS jest-tests\/snapshot\.test\.cjs/g)).toHaveLength(2);
    const running = descendantsOf(jest.pid!);
    jest.kill('SIGTERM');
    await new Promise((r) => jest.once('exit', r));
    expect(await waitUntilGone(running)).toEqual([]);
  } finally {
    jest.kill('SIGKILL');
    fs.rmSync(results, { recursive: true, force: true });
  }
}, 240_000);

test('Jest 29 runs the same cases through the same runner, each file in its own sandbox', async () => {
  const results = fs.mkdtempSync(path.join(SUITE, '.results-'));
  try {
    const jest29 = path.join(E2E, 'jest29');
    const r = await run(process.execPath, [path.join(jest29, 'node_modules/jest/bin/jest.js'), '-c', 'jest.config.cjs'], {
      cwd: jest29,
      env: { ...process.env, CI: 'true', FORCE_COLOR: '0', NSBOX_E2E_RESULTS: results },
    });
    expect(r.stderr).toMatch(/Test Suites: 1 skipped, 5 passed, 5 of 6 total/);
    const seen = ['a', 'b', 'c'].map((n) => JSON.parse(fs.readFileSync(path.join(results, `isolation-${n}.json`), 'utf8')) as Facts);
    expect(seen.every((f) => f.ppid === 1 && f.portSharedByAll && f.forkedFromZygote)).toBe(true);
    expect(new Set(seen.map((f) => f.hostname)).size).toBe(3);
    expect(r.stderr).toMatch(/\[nsbox\] jest-tests\/daemon\.test\.cjs left 1 process running; killed:/);
  } finally {
    fs.rmSync(results, { recursive: true, force: true });
  }
});
