// Runs inside the cgroup v2 guest (test/uml/guest.sh), as root or as a user a cgroup is delegated to:
// every limit check of one boot, each printed as one JSON line `{"check": NAME, ...}` for
// limits.test.ts to judge. It only gathers facts; the test decides what passes.
//   node limits.mjs all|rootless
import { spawn } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

const here = path.dirname(fileURLToPath(import.meta.url));
const core = path.resolve(here, '..', '..');
const CLI = path.join(core, 'dist', 'cli.js');
const nsbox = await import(path.join(core, 'dist', 'index.js'));
const which = process.argv[2] ?? 'all';

function report(check, facts) {
  process.stdout.write(`${JSON.stringify({ check, ...facts })}\n`);
}

function run(args, options = {}) {
  return new Promise((resolve) => {
    const child = spawn(process.execPath, [CLI, ...args], { stdio: ['ignore', 'pipe', 'pipe'], ...options });
    let stdout = '';
    let stderr = '';
    child.stdout.setEncoding('utf8').on('data', (d) => (stdout += d));
    child.stderr.setEncoding('utf8').on('data', (d) => (stderr += d));
    child.on('close', (status) => resolve({ status, stdout, stderr, pid: child.pid }));
    options.onSpawn?.(child);
  });
}

/** The sandbox groups under the caller's delegated group (the root in the guest unless delegated). */
function base() {
  const own = /^0::(.*)$/m.exec(fs.readFileSync('/proc/self/cgroup', 'utf8'))[1];
  const dir = path.join('/sys/fs/cgroup', own);
  return path.basename(dir) === 'nsbox-runner' ? path.dirname(dir) : dir;
}
const groups = () => fs.readdirSync(base()).filter((e) => /^nsbox-\d+-/.test(e));

const scratch = fs.mkdtempSync('/tmp/limits-');
const stats = (name) => path.join(scratch, `${name}.json`);
const statsOf = (name) => JSON.parse(fs.readFileSync(stats(name), 'utf8'));

// The command reads its own group's figures as its last act: nsbox's must agree with them.
const SELF_FIGURES =
  "const fs=require('fs');const g='/sys/fs/cgroup'+fs.readFileSync('/proc/self/cgroup','utf8').trim().slice(3);" +
  "const own={peak:Number(fs.readFileSync(g+'/memory.peak','utf8')),cpu:Number(/usage_usec (\\d+)/.exec(fs.readFileSync(g+'/cpu.stat','utf8'))[1])/1000};" +
  'console.log(JSON.stringify(own));';

// 1. A 200 MB allocation under a 64 MiB limit: OOM-killed, reported as such, exit 137.
{
  const r = await run(['run', '--memory-max', '64m', '--stats-json', stats('oom'), '--', 'node', '-e', 'const a=[];for(let i=0;i<200;i++)a.push(Buffer.alloc(1<<20,1));console.log("survived")']);
  report('cli-oom', { status: r.status, stdout: r.stdout, stderr: r.stderr, stats: statsOf('oom') });
}

if (which === 'all') {
  // 2. Peak memory and CPU time against the group's own numbers, read by the command at its end.
  {
    const script = `const b=Buffer.alloc(96<<20,1);let x=0;for(let i=0;i<3e7;i++)x+=i;${SELF_FIGURES}`;
    const r = await run(['run', '--stats-json', stats('usage'), '--', 'node', '-e', script]);
    report('cli-usage', { status: r.status, stderr: r.stderr, own: r.status === 0 ? JSON.parse(r.stdout) : null, stats: statsOf('usage') });
    const human = await run(['run', '--stats', '--', 'true']);
    report('cli-stats-line', { status: human.status, stderr: human.stderr });
  }

  // 3. A fork loop under pids.max 20: each `x` is one fork that succeeded.
  {
    const r = await run(['run', '--pids-max', '20', '--stats-json', stats('pids'), '--', 'sh', '-c', 'i=0; while [ $i -lt 60 ]; do sleep 60 & echo x; i=$((i+1)); done']);
    report('cli-pids', { status: r.status, forks: r.stdout.split('\n').filter((l) => l === 'x').length, stderr: r.stderr, stats: statsOf('pids') });
  }

  // 4. A busy loop under cpuMax 0.2, and the same without a limit: the share of a CPU each got.
  for (const [name, flags] of [['cpu-limited', ['--cpu-max', '0.2']], ['cpu-free', []]]) {
    const loop = 'const t=Date.now(),c=process.cpuUsage();while(Date.now()-t<1000);const u=process.cpuUsage(c);console.log((u.user+u.system)/1000/(Date.now()-t))';
    const r = await run(['run', ...flags, '--', 'node', '-e', loop]);
    report(name, { status: r.status, share: Number(r.stdout.trim()), stderr: r.stderr });
  }

  // 5. A timeout kills the sandbox: its group goes too.
  {
    const r = await run(['run', '--memory-max', '64m', '--timeout', '5s', '--', 'sleep', '60']);
    report('cli-timeout', { status: r.status, stderr: r.stderr, groups: groups() });
  }

  // 6. A caller SIGKILLed mid-run leaves its group; the next start removes it.
  {
    let seen = [];
    const r = await run(['run', '--pids-max', '50', '--', 'sh', '-c', 'echo started; exec sleep 60'], {
      onSpawn: (child) =>
        child.stdout.once('data', () => {
          seen = groups();
          child.kill('SIGKILL');
        }),
    });
    // The sandbox dies with its caller (its death signal); the group stays until someone removes it.
    const deadline = Date.now() + 20_000;
    while (Date.now() < deadline && seen.some((g) => /^populated 1$/m.test(fs.readFileSync(path.join(base(), g, 'cgroup.events'), 'utf8')))) {
      await new Promise((resolve) => setTimeout(resolve, 50));
    }
    const left = groups();
    const next = await run(['run', '--pids-max', '50', '--', 'true']);
    report('cli-sigkilled-caller', { killedBy: r.status, seen, left, nextStatus: next.status, after: groups() });
  }
}

// 7. A zygote's sandboxes: the same limits and figures.
{
  const zygote = nsbox.startZygote({});
  await zygote.ready;
  const module = path.join(scratch, 'alloc.cjs');
  fs.writeFileSync(module, 'const a=[];for(let i=0;i<200;i++)a.push(Buffer.alloc(1<<20,1));console.log("survived")');
  fs.writeFileSync(path.join(scratch, 'small.cjs'), 'Buffer.alloc(32<<20,1)');
  const oom = zygote.fork(module, [], { memoryMax: '64m', stats: true, silent: true });
  let out = '';
  oom.stdout.setEncoding('utf8').on('data', (d) => (out += d));
  const oomExit = await oom.exited;
  const small = which === 'all' ? zygote.fork(path.join(scratch, 'small.cjs'), [], { stats: true, silent: true }) : undefined;
  const smallExit = (await small?.exited) ?? {};
  await zygote.close();
  report('zygote', { oom: { code: oomExit.code, signal: oomExit.signal, limitsReached: oomExit.limitsReached, usage: oomExit.usage, out }, small: { code: smallExit.code, usage: smallExit.usage }, groups: groups() });
}

report('end', { groups: groups(), base: base(), uid: process.getuid() });
