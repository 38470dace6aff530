// The benchmark is run by hand, for an hour at a time: this smoke run (suites of 2 files, 1 round,
// every variant) keeps it from rotting between its runs. It checks that every comparison is made and
// every variant's runs succeed, not the numbers.
import { execFile } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, describe, expect, test } from 'vitest';

const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../..');
const RUN = path.join(ROOT, 'bench/run.mjs');
// Under /tmp on purpose: every sandbox has a private /tmp, and the suites, the runners' caches and the
// benchmark's copy of the packages (jest-environment-nsbox outside the Jest project's rootDir) must
// stay visible in it all the same.
const WORK = fs.mkdtempSync(path.join(os.tmpdir(), 'nsbox-bench-'));
afterAll(() => fs.rmSync(WORK, { recursive: true, force: true }));

function bench(args: string[]): Promise<{ code: number | null; stdout: string; stderr: string }> {
  return new Promise((resolve) => {
    execFile(process.execPath, [RUN, ...args], { cwd: ROOT, maxBuffer: 16 << 20 }, (error, stdout, stderr) =>
      resolve({ code: error ? ((error as { code?: number }).code ?? 1) : 0, stdout, stderr }),
    );
  });
}

const ratio = String.raw`(\d+\.\d\d) \((\d+\.\d) (?:s|ms) / (\d+\.\d) (?:s|ms)\)`;

describe('bench/run.mjs', () => {
  test('a smoke run makes every comparison, and every variant runs', async () => {
    const out = path.join(WORK, 'out.md');
    const r = await bench(['--quick', '--files', '2', '--reps', '1', '--typescript', '--no-wait', '--work', path.join(WORK, 'work'), '--out', out]);
    expect(r.stderr).not.toMatch(/FAILED/);
    expect(r.code, r.stderr).toBe(0);
    for (const kind of ['trivial', 'realistic', 'typescript']) {
      if (kind !== 'typescript') {
        for (const pair of ['nsbox/forks', 'nsboxfresh/forks', 'loopback/forks', 'threads/forks', 'nsbox/nsboxfresh']) expect(r.stdout).toMatch(new RegExp(`^vitest 2 ${kind}: ${pair} = ${ratio}`, 'm'));
      }
      for (const pair of ['nsbox/default', 'nsboxfresh/default', 'fresh/default', 'nsbox/fresh', 'nsbox/nsboxfresh']) expect(r.stdout).toMatch(new RegExp(`^jest 2 ${kind}: ${pair} = ${ratio}`, 'm'));
      // Wall, then the machine's user and system CPU side by side (zygote forks are counted: /proc/stat).
      expect(r.stdout).toMatch(new RegExp(`^jest 2 ${kind}: nsbox/default = ${ratio}, CPU nsbox/default = \\d+\\.\\d\\d \\(user \\d+\\.\\d s / \\d+\\.\\d s, system \\d+\\.\\d s / \\d+\\.\\d s\\)`, 'm'));
    }
    expect(r.stdout).toMatch(new RegExp(`^single sandbox, API: nsbox spawn true / plain spawn true = ${ratio}`, 'm'));
    expect(r.stdout).toMatch(new RegExp(`^single sandbox, CLI: nsbox run -- node -e 0 / plain spawn node -e 0 = ${ratio}`, 'm'));
    expect(r.stdout).toMatch(/^namespace cost of one sandbox = .* = -?\d+\.\d ms/m);
    for (const kind of ['RSS', 'PSS', 'USS']) expect(r.stdout).toMatch(new RegExp(`^${kind} of one idle Node worker tree: nsbox/plain = \\d+\\.\\d\\d`, 'm'));
    const md = fs.readFileSync(out, 'utf8');
    const rows = md.split('\n').filter((line) => /^\| (vitest|jest) \| 2 \|/.test(line));
    expect(rows).toHaveLength(2 * (5 + 4) + 4);
    for (const row of rows) expect(row).toMatch(/\| 1\/1 \|$/);
    expect(md).toMatch(/\| nproc \| \d+ \|/);
    // Nothing of the run is left in the work directory but its logs.
    expect(fs.readdirSync(path.join(WORK, 'work'))).toEqual(['logs']);
  }, 300_000);

  test.each([
    [['--rounds', '0'], '--rounds 0: expected a whole number >= 1'],
    [['--only', 'vitest,foo'], "--only vitest,foo: 'foo' is not one of vitest, jest, single"],
    [['--full', '--quick'], '--full and --quick exclude each other'],
    [['--bogus'], "Unknown option '--bogus'"],
  ])('bad input %j: one line naming the option, exit 2, nothing run', async (args, message) => {
    const r = await bench(args);
    expect(r.code).toBe(2);
    expect(r.stderr.split('\n')[0]).toContain(message);
    expect(r.stderr).not.toMatch(/^\s+at /m);
    expect(r.stdout).toBe('');
  });
});
