// Both adapters where nsbox can never sandbox (macOS, Windows): the packages install there (no "os"
// restriction), and the runners run the files the stock way, saying so in one line; with
// onUnsupported: 'error' they fail at start with the reason. Simulated on this Linux machine through
// the core's platform seam (NSBOX_SIMULATE_PLATFORM), with real Jest and Vitest runs.
import { afterAll, describe, expect, test } from 'vitest';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { run } from '../../packages/core/test/helpers.js';

const E2E = path.resolve(import.meta.dirname, '..');
const SUITE = path.join(E2E, 'suite');
const results = fs.mkdtempSync(path.join(SUITE, '.results-'));
afterAll(() => fs.rmSync(results, { recursive: true, force: true }));
const env = { ...process.env, CI: 'true', NO_COLOR: '1', FORCE_COLOR: '0', NSBOX_E2E_RESULTS: results, NSBOX_SIMULATE_PLATFORM: 'darwin' };
const REASON = 'nsbox needs Linux: it runs each test file in Linux namespaces, which macOS does not have';

const runners = [
  {
    name: 'Jest',
    record: 'where-platform',
    passed: /Tests:\s+1 passed, 1 total/,
    command: (error: boolean) => ({
      cmd: [process.execPath, path.join(SUITE, 'node_modules/jest/bin/jest.js'), '--roots=<rootDir>/jest-where', ...(error ? ['--testEnvironmentOptions={"nsbox":{"onUnsupported":"error"}}'] : [])],
      cwd: SUITE,
      env: {},
    }),
  },
  {
    name: 'Vitest',
    record: 'where-1',
    passed: /Tests\s+1 passed \(1\)/,
    command: (error: boolean) => ({
      cmd: [process.execPath, path.join(E2E, 'vitest4/node_modules/vitest/vitest.mjs'), 'run', '-c', 'vitest.where.config.mjs'],
      cwd: path.join(E2E, 'vitest4'),
      env: error ? { NSBOX_E2E_ON_UNSUPPORTED: 'error' } : {},
    }),
  },
];

describe.each(runners)('$name on macOS (simulated)', ({ name, record, passed, command }) => {
  test('runs the files as it would without nsbox, and says so in one line', async () => {
    const { cmd, cwd, env: extra } = command(false);
    const r = await run(cmd[0], cmd.slice(1), { cwd, env: { ...env, ...extra } });
    const output = r.stdout + r.stderr;
    const said = output.split('\n').filter((line) => line.startsWith('[nsbox] '));
    expect(said).toEqual([`[nsbox] ${REASON}: ${name} runs the test files as it would without nsbox, not sandboxed (set onUnsupported: 'error' to fail instead)`]);
    expect(output).toMatch(passed);
    expect(r.status).toBe(0);
    // Not in a sandbox: the file saw the host's own hostname.
    const seen = JSON.parse(fs.readFileSync(path.join(results, `${record}.json`), 'utf8')) as { hostname: string };
    expect(seen.hostname).toBe(os.hostname());
  });

  test("[host] with onUnsupported: 'error', fails at start with the reason and the fix, running no test", async () => {
    const { cmd, cwd, env: extra } = command(true);
    const r = await run(cmd[0], cmd.slice(1), { cwd, env: { ...env, ...extra } });
    const output = r.stdout + r.stderr;
    expect(r.status).not.toBe(0);
    expect(output).toContain(REASON);
    expect(output).toContain('run the tests on Linux');
    expect(output).not.toMatch(/✓|PASS/);
  });
});

describe('the nsbox command on macOS (simulated)', () => {
  const cli = path.resolve(E2E, '../packages/core/dist/cli.js');
  test.each(['run', 'ps', 'exec'])("[host] 'nsbox %s' says plainly that it needs Linux", async (subcommand) => {
    const r = await run(process.execPath, [cli, subcommand, ...(subcommand === 'ps' ? [] : subcommand === 'exec' ? ['abc'] : ['--', 'true'])], { env });
    expect(r.status).toBe(125);
    expect(r.stderr).toBe(`nsbox: ${REASON}, so 'nsbox ${subcommand}' cannot work on this machine. Fix: run it on Linux (a VM, a container or CI)\n`);
  });

  test("[host] 'nsbox doctor' names the cause and the fix", async () => {
    const r = await run(process.execPath, [cli, 'doctor'], { env });
    expect(r.status).toBe(1);
    expect(r.stdout).toContain(`cause: ${REASON}`);
    expect(r.stdout).toContain('Sandboxes cannot be created on this host');
  });
});
