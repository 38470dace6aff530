// A warm zygote forks sandboxes: each one must be as isolated as a sandbox born through stage 0, and
// no sandbox, nor the zygote, may outlive its caller or change the host.
import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import { spawn as spawnProcess } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import readline from 'node:readline';
import { resolveOptions, startZygote, type Zygote, type ZygoteProcess } from '../dist/index.js';
import { CORE, NOBODY, alive, asNobody, run, waitUntilGone } from './helpers.js';

const CHILD = path.join(CORE, 'test/fixtures/zygote-child.cjs');
// Only what must stay visible (this checkout, when it lives under /tmp) shows in the private /tmp.
const VISIBLE_TMP = CORE.startsWith('/tmp/') ? [CORE.split('/')[2]] : [];

interface Seen {
  pid: number;
  ppid: number;
  hostname: string;
  tmp: string[];
  nspid: number[];
  uid: number;
  capEff: string;
  argv: string[];
  env: string | null;
  cwd: string;
  random: [number, number, string];
}

function hostState() {
  return { mounts: fs.readFileSync('/proc/self/mounts', 'utf8').trim().split('\n').sort(), hostname: os.hostname() };
}

/** Collects a silent sandbox's output until its streams end. */
function output(sandbox: ZygoteProcess): Promise<{ stdout: string; stderr: string }> {
  const collect = (stream: NodeJS.ReadableStream) =>
    new Promise<string>((resolve) => {
      let text = '';
      stream.setEncoding('utf8');
      stream.on('data', (d: string) => (text += d));
      stream.on('end', () => resolve(text));
    });
  return Promise.all([collect(sandbox.stdout!), collect(sandbox.stderr!)]).then(([stdout, stderr]) => ({ stdout, stderr }));
}

function message(sandbox: ZygoteProcess): Promise<unknown> {
  return new Promise((resolve) => sandbox.once('message', resolve));
}

const before = hostState();
let zygote: Zygote;

beforeAll(async () => {
  zygote = startZygote();
  await zygote.ready;
});

afterAll(async () => {
  const pid = zygote.pid!;
  await zygote.close();
  expect(await waitUntilGone([pid])).toEqual([]);
  expect(hostState()).toEqual(before);
});

describe('a zygote', () => {
  test('forks 20 sandboxes, each with its own hostname, PID namespace, empty private /tmp and IPC channel', async () => {
    const sandboxes = Array.from({ length: 20 }, (_, i) =>
      zygote.fork(CHILD, ['report', String(i)], { silent: true, hostname: `zygote-${i}`, env: { ...process.env, ZYGOTE_TEST_VALUE: `v${i}` } }),
    );
    const outputs = sandboxes.map(output);
    await Promise.all(sandboxes.map((s) => s.ready));
    const hostPids = sandboxes.map((s) => s.pid!);
    // Seen from the host, the file process is two PID namespace levels deep, its inner pid the one it reports.
    const nspids = hostPids.map((pid) => /^NSpid:\s*(.*)$/m.exec(fs.readFileSync(`/proc/${pid}/status`, 'utf8'))![1].trim().split(/\s+/).map(Number));
    const reports = await Promise.all(
      sandboxes.map(async (s) => {
        const reply = message(s);
        s.send('report');
        const seen = (await reply) as Seen;
        const echo = message(s);
        s.send({ n: seen.argv[1] });
        expect(await echo).toEqual({ echo: { n: seen.argv[1] } });
        s.send('bye');
        return seen;
      }),
    );
    const exits = await Promise.all(sandboxes.map((s) => s.exited));
    const printed = await Promise.all(outputs);
    reports.forEach((seen, i) => {
      expect(seen.hostname).toBe(`zygote-${i}`);
      expect(seen.ppid).toBe(1);
      expect(seen.pid).toBeGreaterThan(1);
      expect(seen.nspid).toEqual([seen.pid]); // its own /proc shows its own namespace only
      expect(nspids[i]).toEqual([hostPids[i], seen.pid]);
      expect(seen.tmp).toEqual(VISIBLE_TMP);
      expect(seen.argv).toEqual(['report', String(i)]);
      expect(seen.env).toBe(`v${i}`);
      expect(seen.cwd).toBe(process.cwd());
      expect(JSON.parse(printed[i].stdout.split('\n')[0])).toEqual(seen);
      expect(printed[i].stderr).toBe('');
      expect(exits[i]).toEqual({ code: 0, signal: null, timedOut: false, leftovers: [] });
    });
    // Every sandbox's file process has a PID no other sandbox uses (the init's host pid).
    expect(new Set(reports.map((r) => r.pid)).size).toBe(20);
    // Randomness is not the zygote's copy: Math.random (also in a new vm context) and randomUUID differ.
    for (const k of [0, 1, 2]) expect(new Set(reports.map((r) => r.random[k])).size).toBe(20);
    expect(hostState()).toEqual(before);
  });

  test("the exit status passes through: process.exit(N), an uncaught exception (printed), the sandbox's SIGKILL", async () => {
    const exited = zygote.fork(CHILD, ['exit', '42'], { silent: true });
    const thrown = zygote.fork(CHILD, ['throw'], { silent: true });
    const [thrownOutput] = await Promise.all([output(thrown), output(exited)]);
    expect((await exited.exited).code).toBe(42);
    expect((await thrown.exited).code).toBe(1);
    expect(thrownOutput.stderr).toMatch(/^Error: thrown in a zygote sandbox\n {4}at /);
    // A natural end after full GCs (Node's end-of-loop wait for worker tasks would hang in a fork).
    const allocating = zygote.fork(CHILD, ['alloc'], { silent: true, timeout: 20_000 });
    expect(await allocating.exited).toMatchObject({ code: 0, timedOut: false });
    const idle = zygote.fork(CHILD, ['idle'], { silent: true });
    await idle.ready;
    expect(idle.kill('SIGKILL')).toBe(true);
    expect(await idle.exited).toMatchObject({ code: null, signal: 'SIGKILL' });
  });

  test('[fault] timeout kills the whole sandbox and says so; kill(signal) signals the file process only', async () => {
    const slow = zygote.fork(CHILD, ['daemon-idle', '3231'], { silent: true, timeout: 500 });
    await slow.ready;
    const exit = await slow.exited;
    expect(exit).toMatchObject({ code: null, signal: 'SIGKILL', timedOut: true });
    expect(exit.leftovers.map((p) => p.command)).toContain('sleep 3231');
    expect(await waitUntilGone(exit.leftovers.map((p) => p.hostPid))).toEqual([]);
    const idle = zygote.fork(CHILD, ['idle'], { silent: true });
    await idle.ready;
    expect(idle.kill('SIGTERM')).toBe(true);
    expect(await idle.exited).toMatchObject({ code: 143, signal: null });
  });

  test("close() of an unref'd zygote finishes even when nothing else keeps the caller's event loop alive", async () => {
    // As a pool that unrefs its zygote and closes it last: Node exits with 13 (a top-level await that
    // never settled) if what close() awaits does not hold the loop. Through `node -e`, whose flags the
    // zygote must not inherit (it ran the caller's code again, starting zygotes of its own).
    const script = `import { startZygote } from ${JSON.stringify(path.join(CORE, 'dist/index.js'))};
      const zygote = startZygote(); await zygote.ready;
      const sandbox = zygote.fork(${JSON.stringify(CHILD)}, ['idle'], { silent: true }); await sandbox.ready;
      zygote.unref(); sandbox.unref();
      await zygote.close(); console.log('closed');`;
    const r = await run(process.execPath, ['--input-type=module', '-e', script]);
    expect({ status: r.status, stdout: r.stdout }).toEqual({ status: 0, stdout: 'closed\n' });
  });

  test('close() takes down the sandboxes still running', async () => {
    const other = startZygote();
    const sandbox = other.fork(CHILD, ['daemon-idle', '3241'], { silent: true });
    await sandbox.ready;
    while (!sandbox.processes().some((p) => p.command === 'sleep 3241')) await new Promise((r) => setTimeout(r, 20));
    const pids = [other.pid!, sandbox.pid!, ...sandbox.processes().map((p) => p.hostPid)];
    await other.close();
    expect(await sandbox.exited).toMatchObject({ code: null, signal: 'SIGKILL' });
    expect(await waitUntilGone(pids)).toEqual([]);
  });

  test('[fault] a double-forked setsid daemon is listed, then killed with the sandbox', async () => {
    const sandbox = zygote.fork(CHILD, ['daemon', '3201'], { silent: true });
    const reported: unknown[] = [];
    sandbox.on('leftovers', (l) => reported.push(l));
    const exit = await sandbox.exited;
    expect(exit.code).toBe(0);
    expect(exit.leftovers.map((p) => p.command)).toEqual(['sleep 3201']);
    expect(exit.leftovers[0].pid).toBeGreaterThan(2);
    expect(reported).toEqual([exit.leftovers]);
    expect(await waitUntilGone(exit.leftovers.map((p) => p.hostPid))).toEqual([]);
  });

  test('[fault] destroy() of one sandbox leaves the zygote and the other sandboxes running', async () => {
    const sandboxes = [0, 1, 2].map(() => zygote.fork(CHILD, ['idle'], { silent: true }));
    await Promise.all(sandboxes.map((s) => s.ready));
    const victim = sandboxes[1];
    const victimPids = [victim.pid!, ...victim.processes().map((p) => p.hostPid)];
    const exit = await victim.destroy();
    expect(exit).toMatchObject({ code: null, signal: 'SIGKILL', leftovers: [] });
    expect(await waitUntilGone(victimPids)).toEqual([]);
    expect(alive(zygote.pid!)).toBe(true);
    for (const survivor of [sandboxes[0], sandboxes[2]]) {
      const reply = message(survivor);
      survivor.send('still there?');
      expect(await reply).toEqual({ echo: 'still there?' });
      expect(alive(survivor.pid!)).toBe(true);
    }
    await Promise.all([sandboxes[0].destroy(), sandboxes[2].destroy()]);
    // And the zygote still forks.
    const after = zygote.fork(CHILD, ['exit', '0'], { silent: true });
    expect((await after.exited).code).toBe(0);
  });

  test("'loopback' gives a forked sandbox a network of its own, with lo up", async () => {
    const sandbox = zygote.fork(CHILD, ['idle'], { silent: true, network: 'loopback' });
    await sandbox.ready;
    const inside = fs.readlinkSync(`/proc/${sandbox.pid}/ns/net`);
    expect(inside).not.toBe(fs.readlinkSync('/proc/self/ns/net'));
    expect(fs.readFileSync(`/proc/${sandbox.pid}/net/dev`, 'utf8')).not.toMatch(/^\s*(eth|ens|enp)/m);
    await sandbox.destroy();
  });

  test("'advanced' serialization carries Buffers and Maps both ways", async () => {
    const sandbox = zygote.fork(CHILD, ['idle'], { silent: true, serialization: 'advanced' });
    const reply = message(sandbox);
    sandbox.send({ buffer: Buffer.from('hi'), map: new Map([[1, 'one']]) });
    const echoed = (await reply) as { echo: { buffer: Uint8Array; map: Map<number, string> } };
    expect(Buffer.from(echoed.echo.buffer).toString()).toBe('hi');
    expect(echoed.echo.map.get(1)).toBe('one');
    await sandbox.destroy();
  });

  test('a prepared module is loaded once, in the zygote, before the first fork', async () => {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'nsbox-zygote-prepare-'));
    try {
      const warm = path.join(dir, 'warm.cjs');
      fs.writeFileSync(warm, 'globalThis.warmedAt = process.pid; module.exports = async () => { globalThis.prepared = "yes"; };\n');
      const worker = path.join(dir, 'worker.cjs');
      fs.writeFileSync(worker, 'process.send({ warmedAt: globalThis.warmedAt, prepared: globalThis.prepared, self: process.pid });\n');
      const prepared = startZygote({ prepare: warm });
      await prepared.ready;
      const sandbox = prepared.fork(worker, [], { silent: true });
      const seen = (await message(sandbox)) as { warmedAt: number; prepared: string; self: number };
      expect(seen.prepared).toBe('yes');
      expect(seen.warmedAt).toBe(prepared.pid); // the zygote's pid, seen before it forked
      expect(seen.self).not.toBe(prepared.pid);
      expect((await sandbox.exited).code).toBe(0);
      await prepared.close();
    } finally {
      fs.rmSync(dir, { recursive: true, force: true });
    }
  });

  test('process.exit() in a sandbox whose library kept the "original" process.emit and reallyExit from the zygote (as signal-exit does) ends with its code, not a crash', async () => {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'nsbox-zygote-exit-'));
    try {
      const warm = path.join(dir, 'warm.cjs');
      // Like signal-exit 4: it keeps process.emit and process.reallyExit when loaded, and installs
      // wrappers calling them later, at its first use (here: in the sandbox).
      fs.writeFileSync(
        warm,
        'const emit = process.emit, reallyExit = process.reallyExit;\n' +
          'globalThis.hookLikeSignalExit = () => {\n' +
          '  process.emit = function (ev, ...a) { return emit.call(this, ev, ...a); };\n' +
          '  process.reallyExit = function (code) { return reallyExit.call(process, code); };\n' +
          '};\n',
      );
      const worker = path.join(dir, 'worker.cjs');
      fs.writeFileSync(worker, 'globalThis.hookLikeSignalExit(); process.exit(3);\n');
      const zygote = startZygote({ prepare: warm });
      await zygote.ready;
      const exit = await zygote.fork(worker, [], { silent: true }).exited;
      expect(exit).toMatchObject({ code: 3, signal: null });
      await zygote.close();
    } finally {
      fs.rmSync(dir, { recursive: true, force: true });
    }
  });

  test('a prepare module that fails: ready rejects with its error and the zygote is gone', async () => {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'nsbox-zygote-prepare-'));
    try {
      const broken = path.join(dir, 'broken.cjs');
      fs.writeFileSync(broken, 'module.exports = async () => { throw new Error("cannot warm up"); };\n');
      const failing = startZygote({ prepare: broken });
      await expect(failing.ready).rejects.toThrow(/the zygote could not start: Error: cannot warm up/);
      const sandbox = failing.fork(CHILD, ['exit', '0'], { silent: true });
      await expect(sandbox.ready).rejects.toThrow(/the zygote could not fork a sandbox/);
      expect(await sandbox.exited).toMatchObject({ code: null, signal: 'SIGKILL' });
      await failing.close();
    } finally {
      fs.rmSync(dir, { recursive: true, force: true });
    }
  });
});

describe('a long-lived zygote', () => {
  test('[fault] 1000 sandboxes forked in a row: no growth in the zygote\'s fds, threads or memory, nor the caller\'s', async () => {
    const soaked = startZygote();
    try {
      await soaked.ready;
      const zygotePid = soaked.pid!;
      const empty = path.join(CORE, 'test/fixtures/zygote-empty.cjs');
      const runBatch = async (count: number) => {
        const queue = Array.from({ length: count }, (_, i) => i);
        const worker = async () => {
          for (let i = queue.shift(); i !== undefined; i = queue.shift()) {
            const sandbox = soaked.fork(empty, i % 2 ? ['exit'] : [], { silent: true });
            sandbox.stdout!.resume();
            sandbox.stderr!.resume();
            const exit = await sandbox.exited;
            if (exit.code !== 0 || exit.leftovers.length) throw new Error(`sandbox ${i} ended with ${JSON.stringify(exit)}`);
          }
        };
        await Promise.all(Array.from({ length: 4 }, worker));
      };
      const zygote = () => ({
        fds: fs.readdirSync(`/proc/${zygotePid}/fd`).length,
        threads: fs.readdirSync(`/proc/${zygotePid}/task`).length,
        children: fs.readFileSync(`/proc/${zygotePid}/task/${zygotePid}/children`, 'utf8').trim(),
        rssKiB: Number(/^VmRSS:\s+(\d+)/m.exec(fs.readFileSync(`/proc/${zygotePid}/status`, 'utf8'))![1]),
      });
      const ownFds = () => fs.readdirSync('/proc/self/fd').length;
      await runBatch(50); // the zygote's and the caller's lazy state
      const before = { ...zygote(), ownFds: ownFds() };
      await runBatch(1000);
      // The last sandboxes' sockets close, and their sandbox parents finish exiting, a moment after
      // their end is reported: wait for that (a sandbox that really stayed would fail the test).
      const settled = () => ownFds() <= before.ownFds && zygote().children === '';
      for (const deadline = Date.now() + 10_000; !settled() && Date.now() < deadline; ) await new Promise((r) => setTimeout(r, 20));
      const after = { ...zygote(), ownFds: ownFds() };
      expect({ fds: after.fds, threads: after.threads, children: after.children, ownFds: after.ownFds }).toEqual({ fds: before.fds, threads: before.threads, children: '', ownFds: before.ownFds });
      // Each request allocates a few kB that V8 collects when it needs to; 1000 kept would be megabytes.
      expect(after.rssKiB - before.rssKiB).toBeLessThan(16 * 1024);
      console.log(`zygote after 50 → 1050 forks: RSS ${before.rssKiB} → ${after.rssKiB} KiB, fds ${before.fds} → ${after.fds}, threads ${before.threads} → ${after.threads}`);
    } finally {
      await soaked.close();
    }
  }, 300_000);
});

describe('full garbage collections in forked files', () => {
  // On Node 20 a full GC in a forked process signalled a condition variable that the zygote's V8
  // workers slept on, and waited forever for sleepers that do not exist in the fork (condvars.cts).
  // The timeout only turns a hang into a failure.
  test(`[fault] files forked from a zygote with a jsdom-sized heap go through explicit and natural full GCs and end (${process.version})`, async () => {
    const heavy = startZygote({ prepare: path.join(CORE, 'test/fixtures/zygote-gc-prepare.cjs'), execArgv: ['--expose-gc'] });
    try {
      await heavy.ready;
      const results = [];
      for (let batch = 0; batch < 3; batch++) {
        const sandboxes = [0, 1].map(() => heavy.fork(path.join(CORE, 'test/fixtures/zygote-gc.cjs'), [], { silent: true, timeout: 120_000 }));
        const outputs = sandboxes.map(output);
        const replies = sandboxes.map((s) => new Promise((resolve) => s.once('message', resolve)));
        const exits = await Promise.all(sandboxes.map((s) => s.exited));
        for (const [i, exit] of exits.entries()) {
          expect({ timedOut: exit.timedOut, code: exit.code }, (await outputs[i]).stderr).toEqual({ timedOut: false, code: 0 });
          results.push(await replies[i]);
        }
      }
      // Each file went through its 4 explicit full GCs at least, on the zygote's heap (gc() it was given with --expose-gc).
      for (const result of results as { majors: number; heldByZygote: number }[]) {
        expect(result.heldByZygote).toBe(300_000);
        expect(result.majors).toBeGreaterThanOrEqual(4);
      }
    } finally {
      await heavy.close();
    }
  }, 600_000);
});

describe("the zygote's heap is collected before the first fork", () => {
  test('without --expose-gc, neither a forked file nor the contexts it makes (a test file\'s) see gc()', async () => {
    const sandbox = zygote.fork(path.join(CORE, 'test/fixtures/zygote-gc-hidden.cjs'), [], { silent: true });
    const reply = message(sandbox);
    expect((await sandbox.exited).code).toBe(0);
    expect(await reply).toEqual({ global: 'undefined', context: 'undefined' });
  });
});

describe('no process outlives its caller', () => {
  test('[fault] SIGKILL of the caller leaves no zygote and no sandbox process behind', async () => {
    const caller = spawnProcess(process.execPath, [path.join(CORE, 'test/fixtures/zygote-caller.mjs')], { stdio: ['ignore', 'pipe', 'inherit'] });
    let pids: number[] = [];
    const left = () => fs.readdirSync('/tmp').filter((entry) => entry.startsWith(`nsbox-zygote-${caller.pid}-`));
    try {
      const line = await new Promise<string>((resolve) => readline.createInterface({ input: caller.stdout! }).once('line', resolve));
      pids = JSON.parse(line) as number[];
      // the zygote; per sandbox its parent, init and file process; one daemon
      expect(pids.length).toBeGreaterThanOrEqual(8);
      expect(pids.every(alive)).toBe(true);
      expect(left()).toHaveLength(1);
    } finally {
      caller.kill('SIGKILL');
    }
    expect(await waitUntilGone(pids)).toEqual([]);
    // The killed caller could not remove its socket directory; the next zygote start does (any
    // zygote this user starts: another test file's may come first).
    const next = startZygote();
    await next.ready;
    expect(left()).toEqual([]);
    await next.close();
  });
});

describe("the file process's setup refuses outside fresh namespaces", () => {
  const config = resolveOptions({ hostname: 'nsbox-must-not-appear' }).config;

  test('in the caller itself, nothing changes', async () => {
    const r = await run(process.execPath, [path.join(CORE, 'test/fixtures/guard-forked.cjs'), 'here'], { env: { ...process.env, ZYGOTE_GUARD_CONFIG: JSON.stringify(config) } });
    expect(r.status).toBe(125);
    expect(r.stdout).toBe('');
    expect(r.stderr).toMatch(/refusing to set up a sandbox here: expected a child of the sandbox's init in a new PID namespace/);
    expect(hostState()).toEqual(before);
  });

  test("in namespaces that are fresh for the caller but the zygote's own", async () => {
    // unshare makes every namespace new and the fixture the init's child; the fixture then claims its
    // own namespaces as the zygote's, as a sandbox would that forgot to unshare from a zygote.
    const r = await run('unshare', ['--mount', '--uts', '--ipc', '--pid', '--fork', '--kill-child', '--', 'sh', '-c', `"$0" "$1" own; exit $?`, process.execPath, path.join(CORE, 'test/fixtures/guard-forked.cjs')], {
      env: { ...process.env, ZYGOTE_GUARD_CONFIG: JSON.stringify(config) },
    });
    expect(r.stderr).toMatch(/refusing to set up a sandbox here: the mnt namespace is the zygote's/);
    expect(r.status).toBe(125);
    expect(r.stdout).toBe('');
  });
});

describe(`rootless zygote (uid ${NOBODY})`, () => {
  let report: Record<string, { ready: string; seen: Seen; code: number; leftovers: string[] }> & {
    host: { uid: number };
    callerKilled: { started: number; survivors: number; dirsWhileAlive: number; dirsLeft: number };
    hostUnchanged: boolean;
  };

  beforeAll(async () => {
    const r = await asNobody([process.execPath, path.join(CORE, 'test/fixtures/zygote-rootless.mjs')]);
    if (r.status !== 0) throw new Error(`the rootless zygote fixture failed (${r.status}):\n${r.stderr}\n${r.stdout}`);
    report = JSON.parse(r.stdout.trim().split('\n').pop()!);
  });

  test('the fixture really ran unprivileged', () => {
    expect(report.host.uid).toBe(NOBODY);
  });

  test("the default identity keeps the caller's uid with no capabilities, in a sandbox of its own", () => {
    expect(report.caller.ready).toBe('ok');
    expect(report.caller.seen).toMatchObject({ uid: NOBODY, capEff: '0000000000000000', ppid: 1, tmp: VISIBLE_TMP });
    expect(report.caller.seen.hostname).toMatch(/^nsbox-[0-9a-f]{8}$/);
    expect(report.caller.code).toBe(0);
  });

  test("identity 'root' is uid 0 inside", () => {
    expect(report.root.seen.uid).toBe(0);
    expect(report.root.seen.capEff).not.toBe('0000000000000000');
  });

  test("'loopback' and leftovers work without privileges", () => {
    expect(report.loopback).toMatchObject({ ready: 'ok', code: 0 });
    expect(report.daemon.leftovers).toEqual(['sleep 3221']);
  });

  test('[fault] SIGKILL of an unprivileged caller leaves nothing running; the host is unchanged', () => {
    expect(report.callerKilled.started).toBeGreaterThanOrEqual(8);
    expect(report.callerKilled.survivors).toBe(0);
    expect(report.callerKilled).toMatchObject({ dirsWhileAlive: 1, dirsLeft: 0 });
    expect(report.hostUnchanged).toBe(true);
  });
});
