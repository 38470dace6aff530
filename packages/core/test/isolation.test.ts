// What a sandboxed command sees, checked from inside and from outside.
import { describe, expect, test, afterAll } from 'vitest';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import net from 'node:net';
import { execFileSync } from 'node:child_process';
import { CORE, nsbox, lines, uniqueName } from './helpers.js';

const cleanup: string[] = [];
afterAll(() => {
  for (const p of cleanup) fs.rmSync(p, { recursive: true, force: true });
});

function hostDir(prefix: string): string {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), `${prefix}-`));
  cleanup.push(dir);
  return dir;
}

describe('PID namespace', () => {
  test('the command is the init\'s child and sees only the sandbox processes', async () => {
    const r = await nsbox(['run', '--', 'sh', '-c', 'echo $$ $PPID; ls /proc | grep -E "^[0-9]+$" | sort -n | tr "\\n" " "; echo; ps -e -o pid=,comm=']);
    expect(r.stderr).toBe('');
    const [ids, pids, ...ps] = lines(r.stdout);
    const [pid, ppid] = ids.split(' ').map(Number);
    expect(ppid).toBe(1);
    expect(pid).toBeGreaterThan(1);
    const visible = pids.trim().split(' ').map(Number);
    expect(visible).toContain(1);
    expect(visible.length).toBeLessThan(8);
    expect(visible).toContain(pid);
    expect(ps.map((l) => l.trim().split(/\s+/)[1])).toEqual(['sh', 'sh', 'ps']);
  });
});

describe('private /tmp and /dev/shm', () => {
  test('[escape] the host /tmp is hidden inside and what the sandbox writes never reaches the host', async () => {
    const marker = uniqueName('nsbox-host-marker');
    fs.writeFileSync(path.join(os.tmpdir(), marker), 'host');
    cleanup.push(path.join(os.tmpdir(), marker));
    const inside = uniqueName('nsbox-inside');
    const r = await nsbox(['run', '--', 'sh', '-c', `ls -A /tmp; echo sandbox > /tmp/${inside}; echo shm > /dev/shm/${inside}; ls -A /tmp /dev/shm`], { cwd: '/' });
    expect(r.status).toBe(0);
    expect(r.stdout).not.toContain(marker);
    expect(r.stdout).toContain(inside);
    expect(fs.existsSync(path.join('/tmp', inside))).toBe(false);
    expect(fs.existsSync(path.join('/dev/shm', inside))).toBe(false);
  });

  test('[fault] --tmpfs-size bounds the private /tmp: ENOSPC inside, the host untouched', async () => {
    const r = await nsbox(['run', '--tmpfs-size', '1m', '--', 'sh', '-c', 'dd if=/dev/zero of=/tmp/fill bs=64k count=64 2>&1; echo status=$?'], { cwd: '/' });
    expect(r.stdout).toMatch(/No space left on device/);
    expect(r.stdout).toContain('status=1');
    // And the command is told which mount filled, its size and the option that raises it.
    expect(r.stderr).toBe("nsbox: sh filled its /tmp (1 MiB, a tmpfs in memory): writes there failed with ENOSPC once it was full; raise it with --tmpfs-size\n");
  });

  test('[fault] /dev/shm filled in a zygote-forked sandbox is reported too; a /tmp that is not full says nothing', async () => {
    const { startZygote } = await import('../dist/index.js');
    const zygote = startZygote();
    try {
      const sandbox = zygote.fork(path.join(CORE, 'test/fixtures/zygote-child.cjs'), ['fill-shm'], { silent: true, tmpfsSize: '1m' });
      const exit = await sandbox.exited;
      expect(exit.fullTmpfs).toEqual([{ mount: '/dev/shm', size: 1024 * 1024 }]);
    } finally {
      await zygote.close();
    }
  });

  test('by default the private /tmp and /dev/shm are bounded: an eighth of the host memory each', async () => {
    const r = await nsbox(['run', '--', 'sh', '-c', 'stat -f -c "%b %S" /tmp /dev/shm']);
    const eighth = Math.max(64, Math.floor(os.totalmem() / 8 / 1048576)) * 1048576;
    for (const line of lines(r.stdout)) {
      const [blocks, size] = line.split(' ').map(Number);
      expect(blocks * size).toBe(eighth);
    }
    expect(lines(r.stdout)).toHaveLength(2);
  });

  test('a working directory under /tmp stays visible at the same path', async () => {
    const project = hostDir('nsbox-project');
    fs.writeFileSync(path.join(project, 'file.txt'), 'from the host\n');
    const marker = uniqueName('nsbox-host-marker');
    fs.writeFileSync(path.join(os.tmpdir(), marker), 'host');
    cleanup.push(path.join(os.tmpdir(), marker));
    const r = await nsbox(['run', '--', 'sh', '-c', 'pwd; cat file.txt; ls -A /tmp'], { cwd: project });
    expect(r.stderr).toBe('');
    const [cwd, content, ...tmp] = lines(r.stdout);
    expect([cwd, content]).toEqual([project, 'from the host']);
    expect(tmp).toContain(path.basename(project));
    expect(tmp).not.toContain(marker);
  });
});

describe('UTS namespace', () => {
  test('own hostname, which resolves inside; the host keeps its own', async () => {
    const before = os.hostname();
    const r = await nsbox(['run', '--hostname', 'box-one', '--', 'sh', '-c', 'hostname; cat /etc/hostname; getent hosts box-one']);
    const [name, file, resolved] = lines(r.stdout);
    expect(name).toBe('box-one');
    expect(file).toBe('box-one');
    expect(resolved).toMatch(/^127\.0\.1\.1\s+box-one$/);
    expect(os.hostname()).toBe(before);
  });

  test('every sandbox gives its command a PID no other live sandbox uses (pid-named temp files never collide)', async () => {
    const runs = await Promise.all([1, 2, 3, 4].map(() => nsbox(['run', '--', 'sh', '-c', 'echo $$; sleep 0.3'])));
    const pids = runs.map((r) => r.stdout.trim());
    expect(new Set(pids).size).toBe(4);
  });

  test('the default hostname is nsbox-<id>, different per sandbox', async () => {
    const [a, b] = await Promise.all([nsbox(['run', '--', 'hostname']), nsbox(['run', '--', 'hostname'])]);
    expect(a.stdout.trim()).toMatch(/^nsbox-[0-9a-f]{8}$/);
    expect(b.stdout.trim()).toMatch(/^nsbox-[0-9a-f]{8}$/);
    expect(a.stdout).not.toBe(b.stdout);
  });
});

describe('IPC namespace', () => {
  test('[escape] SysV queues are invisible across the boundary, both ways', async () => {
    const hostQueue = execFileSync('ipcmk', ['-Q'], { encoding: 'utf8' }).match(/(\d+)/)![1];
    try {
      const r = await nsbox(['run', '--', 'sh', '-c', 'ipcs -q | grep -c "^0x" ; ipcmk -Q >/dev/null; ipcs -q | grep -c "^0x"']);
      expect(lines(r.stdout)).toEqual(['0', '1']);
      const hostView = execFileSync('ipcs', ['-q'], { encoding: 'utf8' });
      expect(hostView).toContain(` ${hostQueue} `);
      expect(hostView.split('\n').filter((l) => l.startsWith('0x')).length).toBe(1 + countOtherQueues(hostView, hostQueue));
    } finally {
      execFileSync('ipcrm', ['-q', hostQueue]);
    }
  });
});

function countOtherQueues(view: string, own: string): number {
  return view.split('\n').filter((l) => l.startsWith('0x') && !l.includes(` ${own} `)).length;
}

describe('network', () => {
  const serveAndConnect = `
    const net = require('net');
    const server = net.createServer((s) => s.end('pong')).listen(43127, '127.0.0.1', () => {
      net.connect(43127, '127.0.0.1').on('data', (d) => { console.log(String(d)); setTimeout(() => server.close(), 300); });
    });`;

  test("'loopback' gives each sandbox its own lo: several bind the same port at once, the host too", async () => {
    const host = net.createServer().listen(43127, '127.0.0.1');
    await new Promise((r) => host.once('listening', r));
    try {
      const runs = await Promise.all([1, 2, 3].map(() => nsbox(['run', '--network', 'loopback', '--', process.execPath, '-e', serveAndConnect])));
      for (const r of runs) {
        expect(r.stderr).toBe('');
        expect(r.stdout.trim()).toBe('pong');
      }
    } finally {
      host.close();
    }
  });

  test("[escape] 'loopback' cannot reach a port the host listens on", async () => {
    const host = net.createServer((s) => s.end('host')).listen(0, '127.0.0.1');
    await new Promise((r) => host.once('listening', r));
    const port = (host.address() as net.AddressInfo).port;
    try {
      const probe = `require('net').connect(${port}, '127.0.0.1').on('data', d => console.log('reached', String(d))).on('error', e => console.log(e.code))`;
      const r = await nsbox(['run', '--network', 'loopback', '--', process.execPath, '-e', probe]);
      expect(r.stdout.trim()).toBe('ECONNREFUSED');
      const shared = await nsbox(['run', '--', process.execPath, '-e', probe]);
      expect(shared.stdout.trim()).toBe('reached host');
    } finally {
      host.close();
    }
  });
});

describe('mount options', () => {
  test('--bind is writable through, --ro-bind is not', async () => {
    const dir = hostDir('nsbox-bind');
    fs.writeFileSync(path.join(dir, 'in.txt'), 'hello\n');
    const r = await nsbox(['run', '--bind', `${dir}:/tmp/rw`, '--ro-bind', `${dir}:/tmp/ro`, '--', 'sh', '-c',
      'cat /tmp/ro/in.txt; echo written > /tmp/rw/out.txt; echo nope > /tmp/ro/x.txt 2>/dev/null || echo read-only'], { cwd: '/' });
    expect(lines(r.stdout)).toEqual(['hello', 'read-only']);
    expect(fs.readFileSync(path.join(dir, 'out.txt'), 'utf8')).toBe('written\n');
    expect(fs.existsSync(path.join(dir, 'x.txt'))).toBe(false);
  });

  test('[escape] --read-only keeps the host unwritable except the --writable paths and the private mounts', async () => {
    const writable = hostDir('nsbox-writable');
    const readonly = hostDir('nsbox-readonly');
    const script = `touch ${readonly}/x 2>/dev/null && echo wrote-host || echo host-ro
      touch ${writable}/ok && echo writable-ok
      touch /tmp/ok && echo tmp-ok
      echo hi > /dev/null && echo devnull-ok`;
    const r = await nsbox(['run', '--read-only', '--writable', writable, '--expose', readonly, '--', 'sh', '-c', script], { cwd: '/' });
    expect(r.stderr).toBe('');
    expect(lines(r.stdout)).toEqual(['host-ro', 'writable-ok', 'tmp-ok', 'devnull-ok']);
    expect(fs.existsSync(path.join(writable, 'ok'))).toBe(true);
    expect(fs.existsSync(path.join(readonly, 'x'))).toBe(false);
  });
});
