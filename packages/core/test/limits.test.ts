// Resource limits, for real. This host's controllers are on cgroup v1 (limits must be refused here, and
// nothing may be created in its cgroup trees); a User-Mode-Linux guest whose only hierarchy is cgroup v2
// (test/uml/guest.sh) is where they are applied, enforced, measured and cleaned up. One boot runs every
// guest check (uml/limits.sh); each test below judges one of them.
import { beforeAll, describe, expect, onTestFinished, test } from 'vitest';
import fs from 'node:fs';
import path from 'node:path';
import { nsbox, nsboxCgroupsOnHost, run, REPO, CORE } from './helpers.js';

const MiB = 1024 * 1024;

/** Where this host's memory controller is: the refusal tests are for hosts like these machines. */
const memoryOnV1 = /^\d+:([^:]*,)?memory(,[^:]*)?:/m.test(fs.readFileSync('/proc/self/cgroup', 'utf8'));

describe.runIf(memoryOnV1)('on this host (controllers on cgroup v1)', () => {
  test('[input] every limit is refused with the option, the value, the cause and the one-line fix; nothing runs, no cgroup is created', async () => {
    const before = nsboxCgroupsOnHost();
    for (const [flag, value] of [['--memory-max', '64m'], ['--pids-max', '20'], ['--cpu-max', '0.5']]) {
      const r = await nsbox(['run', flag, value, '--', 'touch', '/tmp/nsbox-limit-should-not-run']);
      expect(r.status).toBe(125);
      expect(r.stderr.trim().split('\n')).toHaveLength(1);
      expect(r.stderr).toMatch(new RegExp(`^nsbox: ${flag} ${value.replace('.', '\\.')} cannot be applied here: this host's \\w+ controller is on cgroup v1, and nsbox needs it on cgroup v2\\. Fix: boot the host with cgroup v2 only .*systemd-run --user --scope -p Delegate=yes`));
    }
    expect(fs.existsSync('/tmp/nsbox-limit-should-not-run')).toBe(false);
    expect(nsboxCgroupsOnHost()).toEqual(before);
  });

  test('--stats gives what can be had (CPU time) and names what cannot (peak memory), with no cgroup', async () => {
    const before = nsboxCgroupsOnHost();
    const dir = fs.mkdtempSync('/tmp/nsbox-stats-');
    onTestFinished(() => fs.rmSync(dir, { recursive: true, force: true }));
    const json = path.join(dir, 'stats.json');
    const r = await nsbox(['run', '--stats', '--', 'node', '-e', 'let x=0;for(let i=0;i<5e7;i++)x+=i;console.log(require("fs").readFileSync("/proc/self/cgroup","utf8"))']);
    expect(r.status).toBe(0);
    expect(r.stderr).toMatch(/^nsbox: stats: CPU time \d+\.\d\d s\nnsbox: stats: no peak memory: this host's memory controller is on cgroup v1/);
    // The command stayed in the caller's own groups: no group was made for it, not even for a moment.
    expect(r.stdout.trim()).toBe(fs.readFileSync('/proc/self/cgroup', 'utf8').trim());
    const j = await nsbox(['run', '--stats-json', json, '--', 'true']);
    expect(j.status).toBe(0);
    const report = JSON.parse(fs.readFileSync(json, 'utf8'));
    expect(report).toMatchObject({ command: 'true', status: 0, usage: { missing: [expect.stringMatching(/^peak memory: /)] } });
    expect(report.usage.cpuTime).toBeGreaterThan(0);
    expect(nsboxCgroupsOnHost()).toEqual(before);
  });

  test('doctor names the unusable controllers, the cause and the fix', async () => {
    const r = await nsbox(['doctor', '--json']);
    const check = JSON.parse(r.stdout).checks.find((c: { id: string }) => c.id === 'cgroup2');
    expect(check).toMatchObject({ status: 'info', detail: expect.stringMatching(/^none usable/), cause: expect.stringMatching(/memory, pids, cpu controllers are on cgroup v1/), fix: expect.stringMatching(/^boot the host with cgroup v2/) });
  });
});

describe("the adapters' usage report", () => {
  const exit = (memoryPeak: number, cpuTime: number, limitsReached?: object) => ({ code: null, signal: 'SIGKILL' as const, timedOut: false, leftovers: [], usage: { memoryPeak, cpuTime, missing: [] }, limitsReached });

  test('statsOver prints the files at or over either threshold; {} prints every file; statsJson has them all', async () => {
    const { UsageReport } = await import('nsbox');
    const dir = fs.mkdtempSync('/tmp/nsbox-usage-');
    const report = new UsageReport({ statsOver: { memory: '100M', cpuTime: 5000 }, statsJson: path.join(dir, 'r.json') }, (o) => o);
    expect(report.record('light.test.js', exit(50 * MiB, 100))).toEqual([]);
    expect(report.record('heavy.test.js', exit(100 * MiB, 100))).toEqual(['[nsbox] usage: heavy.test.js: peak memory 100 MiB, CPU time 0.10 s']);
    expect(report.record('busy.test.js', exit(10 * MiB, 6000))).toEqual(['[nsbox] usage: busy.test.js: peak memory 10 MiB, CPU time 6.00 s']);
    expect(report.record('leak.test.js', exit(64 * MiB, 10, { memory: { limit: 64 * MiB, kills: 1 } }))).toEqual(['[nsbox] leak.test.js was killed: it reached its memory limit (64 MiB)']);
    const all = new UsageReport({ statsOver: {} }, (o) => o);
    expect(all.record('light.test.js', exit(50 * MiB, 100))).toEqual(['[nsbox] usage: light.test.js: peak memory 50 MiB, CPU time 0.10 s']);
    const written = JSON.parse(fs.readFileSync(path.join(dir, 'r.json'), 'utf8'));
    expect(written.files.map((f: { file: string }) => f.file)).toEqual(['light.test.js', 'heavy.test.js', 'busy.test.js', 'leak.test.js']);
    fs.rmSync(dir, { recursive: true });
  });

  test('[input] bad statsOver and statsJson values are refused, naming the option', async () => {
    const { UsageReport } = await import('nsbox');
    const label = (o: string) => `nsbox option '${o}'`;
    expect(() => new UsageReport({ statsOver: { memory: 'lots' } }, label)).toThrow(/^invalid nsbox option 'statsOver'\.memory 'lots': expected a size such as '256M'/);
    expect(() => new UsageReport({ statsOver: { cpu: 5 } as never }, label)).toThrow(/^invalid nsbox option 'statsOver' \{"cpu":5\}: expected \{ memory\?: '256M', cpuTime\?: milliseconds \}/);
    expect(() => new UsageReport({ statsJson: '' }, label)).toThrow(/^invalid nsbox option 'statsJson' '': expected the path of a file to write/);
  });
});

describe('in a cgroup v2 guest (User-Mode Linux)', () => {
  const checks = new Map<string, Record<string, any>[]>();
  const one = (name: string, index = 0) => {
    const found = checks.get(name)?.[index];
    if (!found) throw new Error(`the guest reported no '${name}' check (#${index}); its output is above`);
    return found;
  };
  let boot = { status: -1 as number | null, stderr: '', seconds: 0 };

  beforeAll(async () => {
    const started = Date.now();
    const r = await run(path.join(REPO, 'test', 'uml', 'guest.sh'), ['-t', '400', '--', path.join(CORE, 'test', 'uml', 'limits.sh')]);
    boot = { status: r.status, stderr: r.stderr, seconds: (Date.now() - started) / 1000 };
    for (const line of r.stdout.split('\n').filter(Boolean)) {
      const parsed = JSON.parse(line) as { check: string };
      checks.set(parsed.check, [...(checks.get(parsed.check) ?? []), parsed]);
    }
    if (r.status !== 0) console.error(`guest: status ${r.status}\n${r.stdout}\n${r.stderr}`);
  }, 480_000);

  test('the guest ran every check', () => {
    expect(boot.status, boot.stderr).toBe(0);
    console.log(`cgroup v2 guest: one boot, every check, ${boot.seconds.toFixed(1)} s`);
  });

  test('a 200 MB allocation under --memory-max 64m is OOM-killed, exits 137 and says it hit its 64 MiB limit (root and delegated user)', () => {
    for (const index of [0, 1]) {
      const oom = one('cli-oom', index);
      expect(oom.status).toBe(137);
      expect(oom.stdout).toBe('');
      expect(oom.stderr).toBe('nsbox: node was killed: it reached its memory limit (64 MiB)\n');
      expect(oom.stats.limitsReached).toEqual({ memory: { limit: 64 * MiB, kills: 1 } });
      expect(oom.stats.usage.memoryPeak).toBe(64 * MiB);
    }
    expect(one('end', 1).uid).toBe(65534);
  });

  test('--pids-max 20 stops a fork loop at 20 and says so once', () => {
    const pids = one('cli-pids');
    expect(pids.stats.usage.pidsPeak).toBe(20);
    // stage 0, the init and the loop's shell are three of the twenty
    expect(pids.forks).toBe(17);
    expect(pids.stats.limitsReached.pids).toEqual({ limit: 20, failures: 1 });
    expect(pids.stderr.match(/process limit/g)).toEqual(['process limit']);
    expect(pids.stderr).toContain('nsbox: sh: 1 fork failed: the sandbox reached its process limit (20 processes and threads)\n');
  });

  test('a busy loop under --cpu-max 0.2 gets about a fifth of a CPU (a whole one without)', () => {
    expect(one('cpu-free').share).toBeGreaterThan(0.6);
    const limited = one('cpu-limited');
    expect(limited.status).toBe(0);
    expect(limited.share).toBeGreaterThan(0.1);
    expect(limited.share).toBeLessThan(0.3);
  });

  test('peak memory and CPU time are within 10% of what the sandbox\'s own cgroup says at the end', () => {
    const usage = one('cli-usage');
    expect(usage.status).toBe(0);
    expect(usage.own.peak).toBeGreaterThan(96 * MiB);
    expect(Math.abs(usage.stats.usage.memoryPeak - usage.own.peak) / usage.own.peak).toBeLessThan(0.1);
    expect(Math.abs(usage.stats.usage.cpuTime - usage.own.cpu) / usage.own.cpu).toBeLessThan(0.1);
    expect(usage.stats.usage.missing).toEqual([]);
    expect(one('cli-stats-line').stderr).toMatch(/^nsbox: stats: peak memory [\d.]+ MiB, CPU time \d+\.\d\d s, at most \d+ processes and threads\n$/);
  });

  test('zygote sandboxes: the same limit, report and figures (root and delegated user)', () => {
    for (const index of [0, 1]) {
      const z = one('zygote', index);
      expect(z.oom).toMatchObject({ code: 137, limitsReached: { memory: { limit: 64 * MiB, kills: 1 } }, usage: { memoryPeak: 64 * MiB }, out: '' });
      expect(z.groups).toEqual([]);
    }
    const small = one('zygote').small;
    expect(small.code).toBe(0);
    expect(small.usage.memoryPeak).toBeGreaterThan(32 * MiB);
    expect(small.usage.memoryPeak).toBeLessThan(64 * MiB);
  });

  test('without delegation, the limit is refused with the cause and the fix', () => {
    const refused = one('not-delegated');
    expect(refused.status).toBe(125);
    expect(refused.stderr).toMatch(/^nsbox: --memory-max 64m cannot be applied here: the caller's cgroup v2 group \/sys\/fs\/cgroup\/ is not writable by this user \(not delegated to it\)\. Fix: .*Delegate=yes/);
  });

  test('root in a group it was not delegated (a service\'s) leaves it alone and says why; in one marked delegated (trusted.delegate) it applies the limit', () => {
    const refused = one('root-not-delegated');
    expect(refused.status).toBe(125);
    expect(refused.stderr).toMatch(/^nsbox: --memory-max 64m cannot be applied here: the caller's cgroup v2 group \/sys\/fs\/cgroup\/service is not delegated \(no trusted\.delegate mark\): nsbox leaves it as its manager set it up\. Fix: .*as root: 'systemd-run --scope -p Delegate=yes'/);
    expect(refused.entries).toEqual(['*/']);
    const check = refused.doctor.checks.find((c: { id: string }) => c.id === 'cgroup2');
    expect(check).toMatchObject({ detail: expect.stringMatching(/^none usable/), cause: expect.stringMatching(/is not delegated/) });
    const marked = one('root-marked-delegated');
    expect(marked.status).toBe(0);
    expect(marked.out).toMatch(/^0::\/service\/nsbox-\d+-\d+-[0-9a-f]+$/);
    expect(marked.entries).toEqual(['nsbox-runner/']);
  });

  test('every group is removed: after normal ends, a timeout, and (by the next start) after a SIGKILLed caller', () => {
    expect(one('cli-timeout')).toMatchObject({ status: 124, groups: [] });
    const killed = one('cli-sigkilled-caller');
    expect(killed.seen).toHaveLength(1);
    expect(killed.left).toEqual(killed.seen);
    expect(killed.nextStatus).toBe(0);
    expect(killed.after).toEqual([]);
    expect(one('end', 0).groups).toEqual([]);
    expect(one('end', 1).groups).toEqual([]);
    // The delegated user's own processes went one level down (cgroup v2 forbids processes beside
    // controlled children); that leaf is all that is left, empty, and goes with the delegated group.
    expect(one('delegated-after')).toEqual({ check: 'delegated-after', entries: ['nsbox-runner/'], runnerProcs: '' });
    expect(one('guest-after').groups).toEqual(['*/']);
  });
});
