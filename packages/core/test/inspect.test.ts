// Looking inside running sandboxes: `nsbox ps`, `nsbox exec` and `--keep-on-failure`, for real, from
// outside, through the built CLI. Every wait is for a condition (a line printed, a record listed).
import { afterEach, describe, expect, test } from 'vitest';
import { spawn, type ChildProcess } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { CLI, CORE, NOBODY, alive, asNobody, nsbox, nsboxPs, uniqueName, until, waitUntilGone } from './helpers.js';

interface Listed {
  id: string;
  command: string;
  hostname: string;
  network: string;
  pid: number;
  innerPid: number;
  init: number;
  processes: number;
  anchor: { pid: number; start: number };
  kept?: { reason: string; until: number };
}

const started: ChildProcess[] = [];
afterEach(async () => {
  for (const child of started.splice(0)) if (child.exitCode === null && child.signalCode === null) child.kill('SIGKILL');
});

/** `nsbox run ARGS` in the background, its stdout and stderr collected as they come. */
function background(args: string[], env: NodeJS.ProcessEnv = process.env): { child: ChildProcess; out: () => string; err: () => string; exit: Promise<number | null> } {
  const child = spawn(process.execPath, [CLI, 'run', ...args], { stdio: ['ignore', 'pipe', 'pipe'], env });
  started.push(child);
  let out = '';
  let err = '';
  child.stdout!.setEncoding('utf8').on('data', (d: string) => (out += d));
  child.stderr!.setEncoding('utf8').on('data', (d: string) => (err += d));
  const exit = new Promise<number | null>((resolve) => child.once('exit', (code) => resolve(code)));
  return { child, out: () => out, err: () => err, exit };
}

const ps = () => nsboxPs<Listed>();

const listed = (hostname: string) => until(`${hostname} in nsbox ps`, async () => (await ps()).find((s) => s.hostname === hostname));

describe('nsbox ps and nsbox exec', () => {
  test('ps lists a running sandbox and exec sees its hostname, /tmp, processes and loopback-only port', async () => {
    const hostname = uniqueName('ps');
    const server = `require('fs').writeFileSync('/tmp/inside', 'only in here\\n');` +
      `const s = require('net').createServer(c => c.end('pong')).listen(0, '127.0.0.1', () => console.log('port', s.address().port));`;
    const box = background(['--network', 'loopback', '--hostname', hostname, '--', 'node', '-e', server]);
    const port = Number(await until('the port', () => /port (\d+)/.exec(box.out())?.[1]));
    const entry = await listed(hostname);

    expect(entry.id).toMatch(/^[0-9a-f]{12}$/);
    expect(entry.command).toBe(`node -e ${server}`);
    expect(entry.network).toBe('loopback');
    expect(alive(entry.pid)).toBe(true);
    expect(fs.readFileSync(`/proc/${entry.pid}/cmdline`, 'utf8').split('\0')[0]).toMatch(/node$/);
    expect(entry.innerPid).toBeGreaterThan(1);
    expect(entry.processes).toBe(1);

    // The port answers from inside only: the host's loopback is another network.
    const connect = `require('net').connect(${port}, '127.0.0.1').on('data', d => console.log(String(d))).on('error', e => console.log(e.code))`;
    const look = await nsbox(['exec', entry.id, '--', 'sh', '-c', `hostname; cat /tmp/inside; ls /proc | grep -x '[0-9]*' | sort -n | tr '\\n' ' '; echo; node -e "${connect}"`]);
    expect(look.stderr).toBe('');
    expect(look.status).toBe(0);
    const [seenHostname, seenTmp, seenPids, seenPort] = look.stdout.trim().split('\n');
    expect(seenHostname).toBe(hostname);
    expect(seenTmp).toBe('only in here');
    // PID 1 is the init; the command has its pid in the sandbox, not its host pid.
    const pids = seenPids.trim().split(' ').map(Number);
    expect(pids).toContain(1);
    expect(pids).toContain(entry.innerPid);
    expect(pids).not.toContain(entry.pid);
    expect(seenPort).toBe('pong');
    expect(fs.existsSync('/tmp/inside')).toBe(false);
    const fromHost = await new Promise<string>((resolve) =>
      import('node:net').then((net) => net.connect(port, '127.0.0.1').on('data', () => resolve('pong')).on('error', (e: NodeJS.ErrnoException) => resolve(e.code ?? 'error'))),
    );
    expect(fromHost).not.toBe('pong');

    // Every namespace is the command's own (a chroot into /proc/PID/root alone would show the same files).
    const namespaces = ['mnt', 'pid', 'uts', 'ipc', 'net'];
    const joined = await nsbox(['exec', entry.id, '--', 'sh', '-c', namespaces.map((n) => `readlink /proc/self/ns/${n}`).join('; ')]);
    expect(joined.stdout.trim().split('\n')).toEqual(namespaces.map((n) => fs.readlinkSync(`/proc/${entry.pid}/ns/${n}`)));

    // The working directory is the command's; the exit status is the command's.
    const wd = await nsbox(['exec', entry.id.slice(0, 6), 'sh', '-c', 'pwd; exit 7'], { cwd: os.tmpdir() });
    expect(wd.stdout.trim()).toBe(process.cwd());
    expect(wd.status).toBe(7);

    box.child.kill('SIGTERM');
    await box.exit;
    expect((await ps()).find((s) => s.id === entry.id)).toBeUndefined();
    const ended = await nsbox(['exec', entry.id, '--', 'true']);
    expect(ended.status).toBe(125);
    expect(ended.stderr).toBe(`nsbox: sandbox '${entry.id}' is not running (it ended, or it is not one of yours). Fix: run 'nsbox ps' to list your running sandboxes\n`);
  });

  test('a record whose sandbox is gone never shows, and is removed', async () => {
    const hostname = uniqueName('stale');
    const box = background(['--hostname', hostname, '--', 'sleep', '1000']);
    const entry = await listed(hostname);
    const file = fs.readdirSync(recordDir()).map((e) => path.join(recordDir(), e)).find((f) => f.endsWith(`${entry.id}.json`))!;
    // SIGKILL leaves the caller no chance to remove its record; its death signal takes the sandbox down.
    box.child.kill('SIGKILL');
    await box.exit;
    expect(await waitUntilGone([entry.anchor.pid, entry.pid], 10_000)).toEqual([]);
    expect(fs.existsSync(file)).toBe(true);
    // A record naming a live process that started at another time (a reused pid) is stale too.
    const forged = path.join(recordDir(), 'feedfeedfeed.json');
    fs.writeFileSync(forged, JSON.stringify({ ...JSON.parse(fs.readFileSync(file, 'utf8')), id: 'feedfeedfeed', anchor: { pid: process.pid, start: 1 } }), { mode: 0o600 });
    expect((await ps()).filter((s) => s.id === entry.id || s.id === 'feedfeedfeed')).toEqual([]);
    expect(fs.existsSync(file)).toBe(false);
    expect(fs.existsSync(forged)).toBe(false);
    const r = await nsbox(['exec', 'feedfeedfeed']);
    expect(r.stderr).toMatch(/^nsbox: sandbox 'feedfeedfeed' is not running/);
  });

  test('[input] a record directory others can reach is refused with the fix, never used', async () => {
    const runtime = fs.mkdtempSync(path.join(os.tmpdir(), 'nsbox-runtime-'));
    try {
      fs.mkdirSync(path.join(runtime, 'nsbox'), { mode: 0o700 });
      fs.chmodSync(path.join(runtime, 'nsbox'), 0o777);
      const r = await nsbox(['ps'], { env: { ...process.env, XDG_RUNTIME_DIR: runtime } });
      expect(r.status).toBe(125);
      expect(r.stderr).toBe(
        `nsbox: the sandbox record directory ${runtime}/nsbox cannot be used: its mode is 777, so others can reach it. Fix: remove ${runtime}/nsbox (or set XDG_RUNTIME_DIR to a directory of your own); nsbox recreates it with mode 700\n`,
      );
    } finally {
      fs.rmSync(runtime, { recursive: true, force: true });
    }
  });

  test('[input] exec without an id says how to use it', async () => {
    const r = await nsbox(['exec']);
    expect(r.status).toBe(2);
    expect(r.stderr).toBe("nsbox: nsbox exec needs the id of a running sandbox first (see 'nsbox ps'); usage: nsbox exec ID [--] [CMD [ARGS...]]\n");
  });

  test(`as the rootless user (uid ${NOBODY}), exec keeps the uid and has no capabilities`, async () => {
    const r = await asNobody([process.execPath, path.join(CORE, 'test/fixtures/inspect-rootless.mjs')]);
    if (r.status !== 0) throw new Error(`the rootless fixture failed (${r.status}):\n${r.stderr}\n${r.stdout}`);
    const seen = JSON.parse(r.stdout.trim().split('\n').pop()!) as { host: number; listed: boolean; inside: string[]; test: string[] };
    expect(seen.host).toBe(NOBODY);
    expect(seen.listed).toBe(true);
    const [uid, capEff, capPrm, noNewPrivs, hostname, userns] = seen.inside;
    expect([uid, capEff, capPrm]).toEqual([`${NOBODY}`, '0000000000000000', '0000000000000000']);
    expect(noNewPrivs).toBe('1');
    // The same as the sandbox's own command sees.
    expect([seen.test[0], seen.test[1]]).toEqual([uid, capEff]);
    expect(hostname).toBe(seen.test[2]);
    expect(userns).toBe(seen.test[3]);
    expect(userns).not.toBe(fs.readlinkSync('/proc/self/ns/user'));
  });
});

function recordDir(): string {
  return process.env.XDG_RUNTIME_DIR ? path.join(process.env.XDG_RUNTIME_DIR, 'nsbox') : `/tmp/nsbox-${process.getuid!()}`;
}

describe('--keep-on-failure', () => {
  const keptLine = /^nsbox: kept the sandbox of (.*) \((.*)\) for (\S+): nsbox exec ([0-9a-f]{12}) {3}\(Ctrl-C releases it(; [^)]*)?\)$/m;

  test('a failed command keeps its sandbox, running, until Ctrl-C; then nothing is left', async () => {
    const hostname = uniqueName('kept');
    const box = background(['--keep-on-failure', '10m', '--hostname', hostname, '--', 'sh', '-c', 'echo evidence > /tmp/evidence; sleep 1000 & exit 3']);
    const [, what, reason, duration, id] = await until('the kept line', () => keptLine.exec(box.err()));
    expect([what, reason, duration]).toEqual(['sh -c echo evidence > /tmp/evidence; sleep 1000 & exit 3', 'exited with status 3', '10m']);
    const entry = (await ps()).find((s) => s.id === id)!;
    expect(entry.hostname).toBe(hostname);
    expect(entry.kept?.reason).toBe('exited with status 3');
    const look = await nsbox(['exec', id, '--', 'sh', '-c', 'cat /tmp/evidence; ps -o stat=,args= -p $(pgrep -x sleep)']);
    // Left running, not stopped: the state is S (sleeping), not T.
    expect(look.stdout.trim().split('\n')).toEqual(['evidence', 'S    sleep 1000']);
    const pids = (await ps()).find((s) => s.id === id)!;
    box.child.kill('SIGINT');
    expect(await box.exit).toBe(3);
    expect(await waitUntilGone([pids.anchor.pid, pids.init], 10_000)).toEqual([]);
    expect((await ps()).find((s) => s.id === id)).toBeUndefined();
  });

  test('the duration ends the keeping by itself', async () => {
    const box = background(['--keep-on-failure', '1s', '--', 'sh', '-c', 'sleep 1000 & exit 4']);
    expect(await box.exit).toBe(4);
    expect(box.err()).toMatch(keptLine);
    const id = keptLine.exec(box.err())![4];
    expect((await ps()).find((s) => s.id === id)).toBeUndefined();
  });

  test('a timed-out command is kept still running, then killed', async () => {
    const box = background(['--timeout', '1s', '--keep-on-failure', '10m', '--', 'sh', '-c', 'echo started; sleep 1000']);
    const [, , reason, , id] = await until('the kept line', () => keptLine.exec(box.err()));
    expect(reason).toBe('timed out after 1000 ms');
    const look = await nsbox(['exec', id, '--', 'pgrep', '-x', 'sleep']);
    expect(look.stdout.trim()).toMatch(/^\d+$/);
    box.child.kill('SIGINT');
    expect(await box.exit).toBe(124);
    expect(box.err()).toContain('sh timed out after 1000 ms; the whole sandbox was killed');
  });

  test('[input] a bad duration is refused before anything starts', async () => {
    const r = await nsbox(['run', '--keep-on-failure', 'forever', '--', 'true']);
    expect(r.status).toBe(2);
    expect(r.stderr).toBe("nsbox: invalid --keep-on-failure 'forever': expected a duration such as '500ms', '30s', '2m' or a number of seconds\n");
  });
});
