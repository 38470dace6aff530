// A process in a sandbox observes what the same process started without nsbox observes, apart from
// what nsbox isolates on purpose; and every byte it writes reaches the caller, however it ends.
import { describe, expect, test } from 'vitest';
import { fork as plainFork, spawn as plainSpawn } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fork, spawn } from '../dist/index.js';
import { CORE, nsbox } from './helpers.js';

const OBSERVE = path.join(CORE, 'test/fixtures/observe.cjs');

type Facts = { env: NodeJS.ProcessEnv; child: { env: NodeJS.ProcessEnv }; fds: string[]; [key: string]: unknown };

/**
 * From Node 22, loading node:util (koffi does, during the setup) touches process.stderr, and libuv
 * then opens its reserve fd on /dev/null before user code instead of when the process first uses a
 * pipe: one fd number shifts. docs/what-a-test-sees.md says so; there the fds are compared by kind, the reserve fd
 * left out.
 */
const EARLY_RESERVE_FD = Number(process.versions.node.split('.')[0]) >= 22;
const comparableFds = (facts: Facts): Facts =>
  EARLY_RESERVE_FD ? { ...facts, fds: facts.fds.filter((fd) => !/^([3-9]|\d\d+):\/dev\/null$/.test(fd) && !fd.endsWith('(the listing itself)')).map((fd) => fd.replace(/^\d+:/, '')).sort() } : facts;

function message(child: import('node:child_process').ChildProcess): Promise<Facts> {
  return new Promise((resolve, reject) => {
    child.once('message', (m) => resolve(m as Facts));
    child.once('error', reject);
  });
}

function stdoutOf(child: import('node:child_process').ChildProcess): Promise<string> {
  let out = '';
  child.stdout!.setEncoding('utf8').on('data', (d: string) => (out += d));
  return new Promise((resolve) => child.once('close', () => resolve(out)));
}

describe('fork() and spawn() leave no trace of nsbox in the process', () => {
  const env = { ...process.env, NODE_OPTIONS: '--max-http-header-size=32768', PWD: '/not/the/cwd' };
  const options = { env, execArgv: ['--expose-gc', '--max-old-space-size=300'], stdio: ['pipe', 'pipe', 'pipe', 'ipc'] as ('pipe' | 'ipc')[], serialization: 'json' as const };

  test('fork(): argv, execArgv, /proc/self/cmdline, env, fds, title, cwd, require.cache and a Node child equal a plain fork', async () => {
    const plain = await message(plainFork(OBSERVE, ['--flag'], options));
    const sandboxed = fork(OBSERVE, ['--flag'], options);
    const facts = await message(sandboxed);
    await sandboxed.exited;
    expect(comparableFds(facts)).toEqual(comparableFds(plain));
    expect(facts.env.NODE_OPTIONS).toBe('--max-http-header-size=32768');
    expect(facts.env.PWD).toBe('/not/the/cwd');
    expect(facts.child).toMatchObject({ maps: false, env: { NODE_OPTIONS: '--max-http-header-size=32768' } });
  });

  test('spawn() of node: the same, with the caller having no NODE_OPTIONS or PWD at all', async () => {
    const { NODE_OPTIONS: _o, PWD: _p, ...bare } = process.env;
    const args = ['--expose-gc', OBSERVE, '--flag'];
    const plain = JSON.parse(await stdoutOf(plainSpawn(process.execPath, args, { env: bare, stdio: ['pipe', 'pipe', 'inherit'] })));
    const sandboxed = JSON.parse(await stdoutOf(spawn(process.execPath, args, { env: bare, stdio: ['pipe', 'pipe', 'inherit'] })));
    expect(comparableFds(sandboxed)).toEqual(comparableFds(plain));
    expect(sandboxed.env.NODE_OPTIONS).toBeUndefined();
    expect(sandboxed.env.PWD).toBeUndefined();
  });
});

test("a `node` on PATH that is a package manager's shim (a script running the real Node) still runs in the sandbox", async () => {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'nsbox-shim-'));
  try {
    fs.writeFileSync(path.join(dir, 'node'), `#!/bin/sh\n${JSON.stringify(process.execPath)} "$@"\nexit $?\n`, { mode: 0o755 });
    const r = await nsbox(['run', '--expose', dir, '--', 'node', '-e', 'console.log(require("os").hostname().startsWith("nsbox-"))'], {
      env: { ...process.env, PATH: `${dir}:${process.env.PATH}` },
    });
    expect(r).toMatchObject({ status: 0, stdout: 'true\n' });
  } finally {
    fs.rmSync(dir, { recursive: true, force: true });
  }
});

describe('[fault] nothing written is lost when the process ends abruptly', () => {
  // 5 MB in 50,000 writes, then an end marker, then the process ends at once. Node queues pipe writes
  // in the process, so without nsbox's blocking stdio most of it would die with the process. A kill by
  // the per-file timeout or by a runner ending the file is the same SIGKILL as the second case.
  const writer = (end: string) =>
    `const pad = 'x'.repeat(90); for (let i = 0; i < 50000; i++) process.stdout.write(i + ' ' + pad + '\\n'); process.stdout.write('END\\n'); ${end}`;
  const complete = (out: string) => ({ lines: out.split('\n').filter((l) => / x+$/.test(l)).length, end: out.includes('\nEND\n') });

  test.each([
    ['process.exit()', 'process.exit(3)', 3],
    ['a SIGKILL of itself', "process.kill(process.pid, 'SIGKILL')", 137],
  ])('%s', async (_how, end, status) => {
    const r = await nsbox(['run', '--', process.execPath, '-e', writer(end)]);
    expect(r.status).toBe(status);
    expect(complete(r.stdout)).toEqual({ lines: 50_000, end: true });
  });
});
