// How a sandbox starts, signals, ends and cleans up after itself.
import { describe, expect, test } from 'vitest';
import { spawn as spawnProcess } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import readline from 'node:readline';
import { fork, spawn } from '../dist/index.js';
import { CORE, alive, daemon, nsbox, processesOfThisRun, waitUntilGone } from './helpers.js';

describe('exit status', () => {
  test('the command status passes through', async () => {
    expect((await nsbox(['run', '--', 'sh', '-c', 'exit 42'])).status).toBe(42);
    expect((await nsbox(['run', '--', 'true'])).status).toBe(0);
  });

  test('a command killed by signal N gives 128+N, with nothing added to its output', async () => {
    const r = await nsbox(['run', '--', process.execPath, '-e', 'process.kill(process.pid, "SIGKILL")']);
    expect(r.status).toBe(137);
    expect(r.stderr).toBe('');
    expect((await nsbox(['run', '--', 'sh', '-c', 'kill -TERM $$'])).status).toBe(143);
  });

  test('a missing command is 127 with a clear message', async () => {
    const r = await nsbox(['run', '--', 'no-such-command-xyz']);
    expect(r.status).toBe(127);
    expect(r.stderr).toMatch(/^nsbox: no-such-command-xyz: command not found in the sandbox/);
  });
});

describe('PID 1 duties', () => {
  test('[fault] a Node test process that SIGKILLs itself dies (it is not PID 1)', async () => {
    const r = await nsbox(['run', '--', process.execPath, '-e', 'process.kill(process.pid, "SIGKILL"); setTimeout(() => console.log("survived"), 500)']);
    expect(r.stdout).not.toContain('survived');
    expect(r.status).toBe(137);
  });

  test('orphans are reaped: no zombies pile up', async () => {
    // Waits until both orphans have ended, then for the count of zombies to fall to 0: it stays at 2
    // for as long as nobody reaps them.
    const script = [
      '(sleep 0.1 &); (sleep 0.1 &)',
      'i=0; while ps -e -o args= | grep -q "^sleep 0.1" && [ $i -lt 600 ]; do sleep 0.05; i=$((i+1)); done',
      'zombies() { ps -e -o stat= | grep -c "^Z"; }',
      'i=0; while [ "$(zombies)" != 0 ] && [ $i -lt 200 ]; do sleep 0.05; i=$((i+1)); done',
      'zombies',
    ].join('; ');
    const r = await nsbox(['run', '--', 'sh', '-c', script]);
    expect(r.stdout.trim()).toBe('0');
  });
});

describe('teardown', () => {
  test('[fault] a double-forked setsid daemon is listed, then killed with the sandbox', async () => {
    const child = spawn('sh', ['-c', `${daemon(3001)}; echo started`], { stdio: 'pipe' });
    const reported: unknown[] = [];
    child.on('leftovers', (l) => reported.push(l));
    const exit = await child.exited;
    expect(exit.code).toBe(0);
    expect(exit.leftovers.map((p) => p.command)).toEqual(['sleep 3001']);
    expect(exit.leftovers[0].pid).toBeGreaterThan(2);
    expect(reported).toEqual([exit.leftovers]);
    expect(await waitUntilGone(exit.leftovers.map((p) => p.hostPid))).toEqual([]);
  });

  test('the CLI names the processes it killed', async () => {
    const r = await nsbox(['run', '--', 'sh', '-c', daemon(3002)]);
    expect(r.status).toBe(0);
    expect(r.stderr).toMatch(/^nsbox: 1 process was still running when sh exited; killed:\n {2}pid \d+: sleep 3002\n$/);
  });

  test('[fault] SIGKILL of the caller leaves nothing of the sandbox running', async () => {
    const caller = spawnProcess(process.execPath, [path.join(CORE, 'test/fixtures/caller.mjs')], { stdio: ['ignore', 'pipe', 'inherit'] });
    const line = await new Promise<string>((resolve) => readline.createInterface({ input: caller.stdout! }).once('line', resolve));
    const pids = JSON.parse(line) as number[];
    expect(pids.length).toBeGreaterThanOrEqual(4); // unshare, init, the command, the daemon
    expect(pids.every(alive)).toBe(true);
    caller.kill('SIGKILL');
    expect(await waitUntilGone(pids)).toEqual([]);
  });

  test('[fault] timeout kills the whole sandbox and says so', async () => {
    const r = await nsbox(['run', '--timeout', '500ms', '--', 'sh', '-c', 'sleep 3003 & sleep 3004']);
    expect(r.status).toBe(124);
    expect(r.stderr).toContain('sleep 3003');
    expect(r.stderr).toContain('timed out after 500 ms');
    // What the command was doing then: sh waits for its foreground sleep.
    expect(r.stderr).toMatch(/^nsbox: at the timeout, sh \(host pid \d+\) was sleeping in wait4\(\) \(a synchronous child process/m);
  });
  test('[fault] a timeout shorter than the set-up is reported as the timeout, and leaves nothing running', async () => {
    // Killing stage 0 this early once orphaned the init, with the command going on to run.
    for (const ms of [1, 2, 5]) {
      const r = await nsbox(['run', '--timeout', `${ms}ms`, '--', 'sleep', '3005']);
      expect(r.status).toBe(124);
      expect(r.stderr).toMatch(new RegExp(`^nsbox: sleep timed out after ${ms} ms(, before its sandbox was set up)?; the whole sandbox was killed\\n(nsbox: at the timeout, sleep .*\\n)?$`));
    }
    expect(await waitUntilGone(processesOfThisRun(/^sleep 3005$/), 1000)).toEqual([]);
  });


  test('[fault] destroy() kills everything at once', async () => {
    const child = spawn('sh', ['-c', 'sleep 3005 & sleep 3006'], { stdio: 'ignore' });
    await child.ready;
    const exit = await child.destroy();
    expect(exit.signal).toBe('SIGKILL');
    expect(await waitUntilGone([child.pid!])).toEqual([]);
  });
});

describe('signals', () => {
  test('SIGINT to the CLI reaches the command (Ctrl-C without a terminal)', async () => {
    const cli = spawnProcess(process.execPath, [path.join(CORE, 'dist/cli.js'), 'run', '--', process.execPath, '-e', 'console.log("up"); setInterval(() => {}, 1000)'], { stdio: ['pipe', 'pipe', 'inherit'] });
    await new Promise<string>((resolve) => readline.createInterface({ input: cli.stdout! }).once('line', resolve));
    cli.kill('SIGINT');
    const status = await new Promise<number | null>((resolve) => cli.once('exit', (code) => resolve(code)));
    expect(status).toBe(130);
  });

  test("kill(signal) signals the command; the sandbox's init survives it", async () => {
    const child = spawn(process.execPath, ['-e', 'process.on("SIGUSR1", () => { console.log("usr1"); process.exit(7) }); console.log("up"); setInterval(() => {}, 1000)'], { stdio: 'pipe' });
    await new Promise<string>((resolve) => readline.createInterface({ input: child.stdout! }).once('line', resolve));
    expect(child.kill('SIGUSR1')).toBe(true);
    expect((await child.exited).code).toBe(7);
  });
});

describe('fork()', () => {
  test('a Node module runs in the sandbox with the IPC channel, and the sandbox config is gone from its env', async () => {
    const child = fork(path.join(CORE, 'test/fixtures/report.cjs'), ['a', 'b'], { hostname: 'forked', serialization: 'advanced' });
    const report = await new Promise<Record<string, unknown>>((resolve) => child.once('message', (m) => resolve(m as Record<string, unknown>)));
    expect(report).toMatchObject({ hostname: 'forked', argv: ['a', 'b'], env: null });
    expect(report.pid).toBeGreaterThan(1);
    // Only what must stay visible (this checkout, when it lives under /tmp) shows in the private /tmp.
    const visible = CORE.startsWith('/tmp/') ? [CORE.split('/')[2]] : [];
    expect(report.tmp).toEqual(visible);
    expect((await child.exited).code).toBe(0);
  });

  // A module under the private /tmp, outside the working directory, still loads its dependencies:
  // from its own package's node_modules, and as an installed package from its install tree.
  test.each([
    ['its package', 'pkg/lib/worker.cjs', 'pkg/node_modules/dep/index.js', ['pkg/package.json']],
    ['its install tree', 'proj/node_modules/tool/worker.cjs', 'proj/node_modules/dep/index.js', ['proj/node_modules/tool/package.json']],
  ])('a forked module under /tmp sees %s', async (_what, worker, dep, packageFiles) => {
    const root = fs.mkdtempSync(path.join(os.tmpdir(), 'nsbox-module-'));
    try {
      const write = (file: string, text: string) => {
        fs.mkdirSync(path.dirname(path.join(root, file)), { recursive: true });
        fs.writeFileSync(path.join(root, file), text);
      };
      for (const file of packageFiles) write(file, '{}');
      write(dep, "module.exports = 'dep loaded';\n");
      write(worker, "process.send(require('dep'), () => process.exit(0));\n");
      const child = fork(path.join(root, worker), [], { cwd: '/', stdio: ['ignore', 'ignore', 'pipe', 'ipc'] });
      let stderr = '';
      child.stderr!.on('data', (chunk) => (stderr += chunk));
      const message = new Promise((resolve) => child.once('message', resolve));
      const { code } = await child.exited;
      expect(stderr).toBe('');
      expect(code).toBe(0);
      expect(await message).toBe('dep loaded');
    } finally {
      fs.rmSync(root, { recursive: true, force: true });
    }
  });
});
