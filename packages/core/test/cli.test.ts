// The CLI's contract: help, version, doctor, and one clear line for every bad input.
import { describe, expect, test } from 'vitest';
import fs from 'node:fs';
import { nsbox } from './helpers.js';

describe('bad input is rejected before anything starts', () => {
  const cases: [string, string[], RegExp][] = [
    ['unknown network mode', ['--network', 'wifi'], /^nsbox: invalid --network 'wifi': expected 'host' or 'loopback'$/],
    ['relative bind source', ['--bind', 'src:/tmp/x'], /^nsbox: invalid --bind 'src': the source must be absolute/],
    ['missing bind source', ['--bind', '/no/such/dir:/tmp/x'], /^nsbox: invalid --bind '\/no\/such\/dir': the source does not exist$/],
    ['bind destination outside the sandbox mounts', ['--bind', '/etc:/no/such/target'], /^nsbox: invalid --bind '\/etc:\/no\/such\/target': the destination does not exist; nsbox creates destinations only inside its own tmpfs mounts/],
    ['relative ro-bind destination', ['--ro-bind', '/etc:etc'], /^nsbox: invalid --ro-bind 'etc': the destination must be absolute/],
    ['bad tmpfs size', ['--tmpfs-size', 'huge'], /^nsbox: invalid --tmpfs-size 'huge': expected a tmpfs size such as '64m'/],
    ['bad extra tmpfs size', ['--tmpfs', '/mnt:lots'], /^nsbox: invalid --tmpfs 'lots': expected a tmpfs size/],
    ['tmpfs on /', ['--tmpfs', '/'], /^nsbox: invalid --tmpfs '\/': the mount point cannot be \/$/],
    ['bad identity', ['--identity', 'admin'], /^nsbox: invalid --identity 'admin': expected 'caller' or 'root'$/],
    ['bad hostname', ['--hostname=-bad-'], /^nsbox: invalid --hostname '-bad-': expected 1 to 64 letters/],
    ['bad timeout', ['--timeout', 'soon'], /^nsbox: invalid --timeout 'soon': expected a duration/],
    ['zero timeout', ['--timeout', '0'], /^nsbox: invalid --timeout '0': expected a duration above zero$/],
    ['writable without read-only', ['--writable', '/tmp'], /^nsbox: invalid --writable \["\/tmp"\]: only means something with --read-only set/],
    ['bad memory limit', ['--memory-max', 'lots'], /^nsbox: invalid --memory-max 'lots': expected a size such as '512M' or '2G'$/],
    ['bad pids limit', ['--pids-max', '-3'], /^nsbox: --pids-max needs a value/],
    ['bad cpu limit', ['--cpu-max', 'half'], /^nsbox: invalid --cpu-max 'half': expected a share of one CPU such as 0\.5/],
    ['zero cpu limit', ['--cpu-max', '0'], /^nsbox: invalid --cpu-max 0: expected a share of one CPU from 0\.01 to 1024/],
    ['zero pids limit', ['--pids-max', '0'], /^nsbox: invalid --pids-max '0': expected a positive whole number of processes$/],
    ['unknown option', ['--frobnicate'], /^nsbox: Unknown option '--frobnicate'; see 'nsbox run --help'$/],
    ['missing option value', ['--network'], /^nsbox: --network needs a value \(write --network=VALUE for one that starts with '-'\); see 'nsbox run --help'$/],
  ];
  test.each(cases)('[input] %s', async (_name, args, message) => {
    const r = await nsbox(['run', ...args, '--', 'touch', '/tmp/nsbox-should-not-run']);
    expect(r.status).toBe(2);
    expect(r.stdout).toBe('');
    expect(r.stderr.trim().split('\n')).toHaveLength(1);
    expect(r.stderr.trim()).toMatch(message);
    expect(r.stderr).not.toMatch(/\n\s+at /);
  });

  test('[input] an empty command', async () => {
    for (const args of [['run'], ['run', '--'], ['run', '--network', 'loopback', '--']]) {
      const r = await nsbox(args);
      expect(r.status).toBe(2);
      expect(r.stderr).toBe("nsbox: no command given: write it after '--', for example 'nsbox run -- node test.js'\n");
    }
  });

  test('[input] an unknown subcommand', async () => {
    const r = await nsbox(['runn']);
    expect(r.status).toBe(2);
    expect(r.stderr).toBe("nsbox: unknown command 'runn'; expected 'run', 'ps', 'exec' or 'doctor' (see 'nsbox --help')\n");
  });

  test('nothing ran for any of them', () => {
    expect(fs.existsSync('/tmp/nsbox-should-not-run')).toBe(false);
  });
});

describe('resource limits', () => {
  test('[input] a limit this host cannot apply is refused with the reason and the fix, never skipped', async () => {
    const r = await nsbox(['run', '--pids-max', '100', '--', 'touch', '/tmp/nsbox-should-not-run']);
    expect(r.status).toBe(125);
    expect(r.stderr.trim().split('\n')).toHaveLength(1);
    expect(r.stderr).toMatch(/^nsbox: --pids-max 100 cannot be applied here: .*\. Fix: /);
  });
});

describe('help, version, doctor', () => {
  test('--help and --version', async () => {
    const help = await nsbox(['--help']);
    expect(help.status).toBe(0);
    expect(help.stdout).toContain('nsbox run [options] -- CMD [ARGS...]');
    const runHelp = await nsbox(['run', '--help']);
    expect(runHelp.stdout).toContain('--network host|loopback');
    const version = await nsbox(['--version']);
    expect(version.stdout.trim()).toMatch(/^\d+\.\d+\.\d+$/);
  });

  test('the command may follow the options without --', async () => {
    const r = await nsbox(['run', '--hostname', 'nodash', 'hostname']);
    expect(r).toMatchObject({ status: 0, stdout: 'nodash\n' });
  });

  test('doctor passes here and prints a table', async () => {
    const r = await nsbox(['doctor']);
    expect(r.status).toBe(0);
    expect(r.stdout).toMatch(/✓ A real sandbox starts/);
    expect(r.stdout).toContain('Sandboxes can be created on this host.');
  });

  test('doctor --json is machine readable', async () => {
    const r = await nsbox(['doctor', '--json']);
    const report = JSON.parse(r.stdout);
    expect(report.ok).toBe(true);
    expect(report.checks.map((c: { id: string }) => c.id)).toEqual(expect.arrayContaining(['platform', 'util-linux', 'seccomp', 'cgroup2', 'sandbox']));
  });
});
