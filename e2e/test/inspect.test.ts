// Looking inside a real Jest and a real Vitest run: `nsbox ps` finds the running file, `nsbox exec`
// enters its sandbox, and keepOnFailure keeps a failed file's sandbox until Ctrl-C or its duration.
// The test file (suite/lib/cases.cjs, inspectCase) records where it runs and waits for a release file,
// so every wait here is for a condition.
import { afterAll, describe, expect, test } from 'vitest';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { spawn } from 'node:child_process';
import { alive, nsbox, nsboxPs, until, waitUntilGone } from '../../packages/core/test/helpers.js';

const E2E = path.resolve(import.meta.dirname, '..');
const SUITE = path.join(E2E, 'suite');
// These tests kill Vitest, which then cannot remove its temporary directory (os.tmpdir()/<random>):
// it goes in one of this file's own, removed afterwards.
const TMPDIR = fs.mkdtempSync(path.join(os.tmpdir(), 'nsbox-e2e-vitest-'));
afterAll(() => fs.rmSync(TMPDIR, { recursive: true, force: true }));
const env = { ...process.env, TMPDIR, CI: 'true', NO_COLOR: '1', FORCE_COLOR: '0' };

interface Listed {
  id: string;
  files?: string[];
  runner?: string;
  slot?: number;
  hostname: string;
  network: string;
  pid: number;
  innerPid: number;
  init: number;
  anchor: { pid: number };
  kept?: { reason: string };
}

const jest = (mode: 'zygote' | 'fresh') => ({
  name: 'jest',
  label: `jest, ${mode} mode`,
  file: path.join(SUITE, 'jest-inspect/inspect.test.cjs'),
  shown: 'jest-inspect/inspect.test.cjs',
  keptFor: { duration: '10m', note: undefined },
  timedOut: (ms: number) => `nsbox: jest-inspect/inspect.test.cjs timed out after ${ms} ms; its sandbox is kept, see below`,
  start: (keep?: string, timeout?: number) =>
    spawn(
      process.execPath,
      [path.join(SUITE, 'node_modules/jest/bin/jest.js'), '--roots=<rootDir>/jest-inspect', `--testEnvironmentOptions=${JSON.stringify({ nsbox: { network: 'loopback', keepOnFailure: keep, mode, timeout } })}`],
      { cwd: SUITE, env, stdio: ['ignore', 'pipe', 'pipe'] },
    ),
});

const vitest = (mode: 'zygote' | 'fresh') => ({
  name: 'vitest',
  label: `vitest, ${mode} mode`,
  file: path.join(SUITE, 'tests-shared/inspect.test.js'),
  shown: 'tests-shared/inspect.test.js',
  // Vitest exits a run whose close outlasts its teardownTimeout (10 s by default): the line says so.
  keptFor: { duration: '10s', note: "; Vitest's teardownTimeout caps it: raise that to keep it longer" },
  timedOut: (ms: number) => `[nsbox] tests-shared/inspect.test.js timed out after ${ms} ms; its sandbox is kept`,
  start: (keep?: string, timeout?: number) =>
    spawn(process.execPath, [path.join(E2E, 'vitest4/node_modules/vitest/vitest.mjs'), 'run', '-c', 'vitest.inspect.config.mjs'], {
      cwd: path.join(E2E, 'vitest4'),
      env: { ...env, NSBOX_E2E_KEEP: keep, NSBOX_E2E_MODE: mode, NSBOX_E2E_TIMEOUT: timeout === undefined ? undefined : String(timeout) },
      stdio: ['ignore', 'pipe', 'pipe'],
    }),
});

const runners = [jest('zygote'), jest('fresh'), vitest('zygote'), vitest('fresh')];

const ps = () => nsboxPs<Listed>();

/** The runner started with a fresh results directory; its output collected; everything removed after. */
async function running(runner: (typeof runners)[number], extraEnv: NodeJS.ProcessEnv, keep: string | undefined, timeout: number | undefined, fn: (run: { results: string; err: () => string; exit: Promise<number | null>; kill: (s: NodeJS.Signals) => void }) => Promise<void>) {
  const results = fs.mkdtempSync(path.join(SUITE, '.results-'));
  Object.assign(env, { NSBOX_E2E_RESULTS: results, ...extraEnv });
  const child = runner.start(keep, timeout);
  for (const key of ['NSBOX_E2E_RESULTS', ...Object.keys(extraEnv)]) delete (env as Record<string, unknown>)[key];
  let err = '';
  let out = '';
  child.stderr!.setEncoding('utf8').on('data', (d: string) => (err += d));
  child.stdout!.setEncoding('utf8').on('data', (d: string) => (out += d));
  const exit = new Promise<number | null>((resolve) => child.once('exit', (code) => resolve(code)));
  try {
    await fn({ results, err: () => `${out}${err}`, exit, kill: (signal) => child.kill(signal) });
  } finally {
    if (child.exitCode === null && child.signalCode === null) child.kill('SIGKILL');
    await exit;
    fs.rmSync(results, { recursive: true, force: true });
  }
}

describe.each(runners)('$label', (runner) => {
  test(`nsbox ps lists the running file and nsbox exec enters its sandbox`, async () => {
    await running(runner, {}, undefined, undefined, async ({ results, err, exit }) => {
      const factsFile = path.join(results, `inspect-${runner.name}.json`);
      const facts = await until('the file to run', () => (fs.existsSync(factsFile) ? (JSON.parse(fs.readFileSync(factsFile, 'utf8')) as { hostname: string; pid: number; port: number }) : undefined));
      const entry = await until('the file in nsbox ps', async () => (await ps()).find((s) => s.files?.includes(runner.file)));
      expect(entry).toMatchObject({ runner: runner.name, slot: 1, hostname: facts.hostname, network: 'loopback', innerPid: facts.pid });
      const table = await nsbox(['ps'], { cwd: SUITE });
      expect(table.stdout).toMatch(new RegExp(`^${entry.id} .* ${runner.name}#1 +running +${runner.shown}$`, 'm'));

      const connect = `require('net').connect(${facts.port}, '127.0.0.1').on('data', d => console.log(String(d))).on('error', e => console.log(e.code))`;
      const look = await nsbox(['exec', entry.id, '--', 'sh', '-c', `hostname; cat /tmp/inspect-${runner.name}; ls /proc | grep -x '[0-9]*' | tr '\\n' ' '; echo; node -e "${connect}"`]);
      expect(look.stderr).toBe('');
      const [hostname, tmp, pids, port] = look.stdout.trim().split('\n');
      expect(hostname).toBe(facts.hostname);
      expect(tmp).toBe(`${runner.name} was here`);
      expect(pids.trim().split(' ').map(Number)).toEqual(expect.arrayContaining([1, facts.pid]));
      expect(port).toBe('pong');

      fs.writeFileSync(path.join(results, `release-${runner.name}`), '');
      expect(await exit, err()).toBe(0);
      expect((await ps()).find((s) => s.id === entry.id)).toBeUndefined();
    });
  });

  const keptLine = /^nsbox: kept the sandbox of (.*) \((.*)\) for (\S+): nsbox exec ([0-9a-f]{12}) {3}\(Ctrl-C releases it(; [^)]*)?\)$/m;

  test('keepOnFailure keeps a failed file’s sandbox, running, until Ctrl-C; nothing is left after', async () => {
    await running(runner, { NSBOX_E2E_FAIL: '1' }, '10m', undefined, async ({ results, err, exit, kill }) => {
      fs.mkdirSync(results, { recursive: true });
      fs.writeFileSync(path.join(results, `release-${runner.name}`), '');
      const [, what, reason, duration, id, note] = await until('the kept line', () => keptLine.exec(err()));
      expect([what, reason, duration, note]).toEqual([runner.shown, 'failed', runner.keptFor.duration, runner.keptFor.note]);
      const entry = (await ps()).find((s) => s.id === id)!;
      expect(entry.kept?.reason).toBe('failed');
      expect(entry.files).toEqual([runner.file]);
      // The run waits for the kept sandbox.
      expect(alive(entry.anchor.pid)).toBe(true);
      const look = await nsbox(['exec', id, '--', 'cat', `/tmp/inspect-${runner.name}`]);
      expect(look.stdout).toBe(`${runner.name} was here\n`);
      kill('SIGINT');
      await exit;
      expect(await waitUntilGone([entry.anchor.pid, entry.init, entry.pid], 10_000)).toEqual([]);
      expect((await ps()).find((s) => s.id === id)).toBeUndefined();
    });
  });

  test('keepOnFailure releases the sandbox by itself when the duration ends', async () => {
    await running(runner, { NSBOX_E2E_FAIL: '1' }, '1s', undefined, async ({ results, err, exit }) => {
      fs.mkdirSync(results, { recursive: true });
      fs.writeFileSync(path.join(results, `release-${runner.name}`), '');
      expect(await exit).toBe(1);
      const id = keptLine.exec(err())?.[4];
      expect(id, err()).toBeDefined();
      expect((await ps()).find((s) => s.id === id)).toBeUndefined();
    });
  });

  test('keepOnFailure keeps a timed-out file’s sandbox with the file still running in it', async () => {
    // The file never gets its release: it runs until the per-file timeout, and then stays, kept.
    await running(runner, {}, '10m', 3000, async ({ results, err, exit, kill }) => {
      const [, what, reason, , id] = await until('the kept line', () => keptLine.exec(err()));
      expect([what, reason]).toEqual([runner.shown, 'timed out after 3000 ms']);
      // The runner's own report of the timeout says the sandbox is kept (Jest reports it after the line).
      await until('the timeout report', () => (err().includes(runner.timedOut(3000)) ? true : undefined));
      const facts = JSON.parse(fs.readFileSync(path.join(results, `inspect-${runner.name}.json`), 'utf8')) as { pid: number };
      const look = await nsbox(['exec', id, '--', 'sh', '-c', `cat /proc/${facts.pid}/status | sed -n 's/^State:\t//p'`]);
      // Still alive and not stopped (T) or dead (Z): running or sleeping in its wait for the release.
      expect(look.stdout.trim()).toMatch(/^[RS] /);
      const entry = (await ps()).find((s) => s.id === id)!;
      kill('SIGINT');
      await exit;
      expect(await waitUntilGone([entry.anchor.pid, entry.init], 10_000)).toEqual([]);
    });
  });
});
