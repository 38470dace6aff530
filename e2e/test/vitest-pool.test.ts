// vitest-pool-nsbox beyond the shared suite: bad options, isolate: false, a killed main process.
import { afterAll, describe, expect, test } from 'vitest';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { spawn } from 'node:child_process';
import { descendantsOf } from '../../packages/core/dist/leftovers.js';
import { run, waitUntilGone } from '../../packages/core/test/helpers.js';

const E2E = path.resolve(import.meta.dirname, '..');
const PROJECT = path.join(E2E, 'vitest4');
const VITEST = path.join(PROJECT, 'node_modules/vitest/vitest.mjs');
// These tests kill Vitest, which then cannot remove its temporary directory (os.tmpdir()/<random>):
// it goes in one of this file's own, removed afterwards.
const TMPDIR = fs.mkdtempSync(path.join(os.tmpdir(), 'nsbox-e2e-vitest-'));
afterAll(() => fs.rmSync(TMPDIR, { recursive: true, force: true }));
const env = { ...process.env, TMPDIR, CI: 'true', NO_COLOR: '1' };

/** A fresh results directory for the suite's facts, removed afterwards. */
async function withResults(fn: (results: string) => Promise<void>): Promise<void> {
  const results = fs.mkdtempSync(path.join(E2E, 'suite/.results-'));
  try {
    await fn(results);
  } finally {
    fs.rmSync(results, { recursive: true, force: true });
  }
}

/** Vitest running a never-ending file, once that file is running in its sandbox; with its sandbox's processes. */
async function slowVitestRunning(results: string) {
  const vitest = spawn(process.execPath, [VITEST, 'run', '-c', 'vitest.slow.config.mjs'], { cwd: PROJECT, env: { ...env, NSBOX_E2E_RESULTS: results }, stdio: 'ignore' });
  const deadline = Date.now() + 30_000;
  while (!fs.existsSync(path.join(results, 'where-slow.json')) && Date.now() < deadline) await new Promise((r) => setTimeout(r, 50));
  return { vitest, sandboxed: descendantsOf(vitest.pid!) };
}

describe('vitest-pool-nsbox', () => {
  test('[input] a bad pool option stops Vitest at config load with one clear line', async () => {
    const r = await run(process.execPath, [VITEST, 'run', '-c', 'vitest.bad.config.mjs'], { cwd: PROJECT, env });
    expect(r.status).not.toBe(0);
    expect(r.stdout + r.stderr).toContain("OptionError: invalid vitest-pool-nsbox option 'network' 'wifi': expected 'host' or 'loopback'");
    expect(r.stdout + r.stderr).not.toMatch(/at resolveOptions/);
  });

  test('isolate: false runs the files of one worker in one shared sandbox', () =>
    withResults(async (results) => {
      const r = await run(process.execPath, [VITEST, 'run', '-c', 'vitest.shared.config.mjs'], { cwd: PROJECT, env: { ...env, NSBOX_E2E_RESULTS: results } });
      expect(r.status).toBe(0);
      const where = [1, 2, 3].map((n) => JSON.parse(fs.readFileSync(path.join(results, `where-${n}.json`), 'utf8')));
      expect(new Set(where.map((w) => w.hostname)).size).toBe(1);
      expect(new Set(where.map((w) => w.pid)).size).toBe(1);
    }));

  test("[fault] SIGKILL of Vitest's main process leaves no sandbox behind", () =>
    withResults(async (results) => {
      const { vitest, sandboxed } = await slowVitestRunning(results);
      expect(sandboxed.length).toBeGreaterThanOrEqual(3); // stage 0, init, worker
      vitest.kill('SIGKILL');
      expect(await waitUntilGone(sandboxed)).toEqual([]);
    }));
});

test('[fault] watch mode: 200 reruns through the pool leave no growth in fds, children or memory', () =>
  withResults(async (results) => {
    const r = await run(process.execPath, ['--expose-gc', path.join(PROJECT, 'soak.mjs'), '200'], { cwd: PROJECT, env: { ...env, NSBOX_E2E_RESULTS: results } });
    expect(r.status).toBe(0);
    const soak = JSON.parse(r.stdout.trim().split('\n').pop()!);
    expect(soak.failures).toEqual([]);
    // No growth (the baseline may catch the warm-up's last sandbox still closing, never fewer).
    expect(soak.after.fds).toBeLessThanOrEqual(soak.before.fds);
    // At most the zygote, or in fresh mode the one sandbox booted ahead; none once Vitest is closed.
    expect(soak.after.children).toBeLessThanOrEqual(soak.before.children);
    expect(soak.after.children).toBeLessThanOrEqual(1);
    expect(soak.closed.children).toBe(0);
    expect(soak.after.rss - soak.before.rss).toBeLessThan(50 * 1024 * 1024);
  }), 300_000);

describe('Vitest flags through the pool', () => {
  test('--no-file-parallelism runs the files one at a time, each in its own sandbox', () =>
    withResults(async (results) => {
      const r = await run(process.execPath, [VITEST, 'run', '-c', 'vitest.shared.config.mjs', '--isolate', '--no-file-parallelism'], { cwd: PROJECT, env: { ...env, NSBOX_E2E_RESULTS: results } });
      expect(r.status).toBe(0);
      const where = [1, 2, 3].map((n) => JSON.parse(fs.readFileSync(path.join(results, `where-${n}.json`), 'utf8')));
      expect(new Set(where.map((w) => w.hostname)).size).toBe(3);
    }));

  test('Ctrl-C (SIGINT to Vitest) ends the run and leaves no sandbox', () =>
    withResults(async (results) => {
      const { vitest, sandboxed } = await slowVitestRunning(results);
      expect(sandboxed.length).toBeGreaterThanOrEqual(3); // else nothing below could fail
      vitest.kill('SIGINT');
      const code = await new Promise((resolve) => vitest.once('exit', resolve));
      expect(code).not.toBe(0);
      expect(await waitUntilGone(sandboxed)).toEqual([]);
    }));
});
