// The adapters under real limits: Jest and Vitest, each in zygote and fresh mode, in the cgroup v2 guest
// (test/uml/guest.sh), one boot for all four runs (packages/core/test/uml/adapters.sh). Each run has a
// file that leaks past memoryMax and one that stays under it.
import { beforeAll, describe, expect, test } from 'vitest';
import fs from 'node:fs';
import path from 'node:path';
import { run, REPO, CORE } from '../../packages/core/test/helpers.js';

const MiB = 1024 * 1024;
const E2E = path.resolve(import.meta.dirname, '..');
const memoryOnV1 = /^\d+:([^:]*,)?memory(,[^:]*)?:/m.test(fs.readFileSync('/proc/self/cgroup', 'utf8'));

describe.runIf(memoryOnV1)('on this host (controllers on cgroup v1), the same configs', () => {
  test('[input] Jest and Vitest refuse memoryMax before any file runs, naming the option, the cause and the fix', async () => {
    const env = { ...process.env, CI: 'true', NO_COLOR: '1', FORCE_COLOR: undefined };
    const jest = await run(process.execPath, [path.join(E2E, 'suite/node_modules/jest/bin/jest.js'), '-c', 'jest.limits.config.cjs'], { cwd: path.join(E2E, 'suite'), env });
    expect(jest.status).toBe(1);
    expect(jest.stderr).toMatch(/^LimitError: testEnvironmentOptions\.nsbox\.memoryMax 256M cannot be applied here: this host's memory controller is on cgroup v1, and nsbox needs it on cgroup v2\. Fix: boot the host with cgroup v2 only/m);
    expect(jest.stderr).toMatch(/Tests: +0 total/);
    const vitest = await run(process.execPath, [path.join(E2E, 'vitest4/node_modules/vitest/vitest.mjs'), 'run', '-c', 'vitest.limits.config.mjs'], { cwd: path.join(E2E, 'vitest4'), env });
    expect(vitest.status).toBe(1);
    expect(vitest.stderr).toContain("LimitError: vitest-pool-nsbox option 'memoryMax' 256M cannot be applied here: this host's memory controller is on cgroup v1");
  });
});

describe('Jest and Vitest in a cgroup v2 guest, memoryMax 256M, statsOver {} and statsJson', () => {
  const sections = new Map<string, { status: number; output: string; json: any }>();
  let boot = { status: -1 as number | null, stdout: '', stderr: '', seconds: 0 };

  beforeAll(async () => {
    const started = Date.now();
    const r = await run(path.join(REPO, 'test', 'uml', 'guest.sh'), ['-m', '768M', '-t', '500', '--', path.join(CORE, 'test', 'uml', 'adapters.sh')]);
    boot = { status: r.status, stdout: r.stdout, stderr: r.stderr, seconds: (Date.now() - started) / 1000 };
    for (const match of r.stdout.matchAll(/^== (\S+) status=(\d+)\n([\s\S]*?)^== \1\.json\n([\s\S]*?)(?=^== )/gm)) {
      sections.set(match[1], { status: Number(match[2]), output: match[3].replace(/\x1b\[[0-9;]*m/g, ''), json: match[4].trim() ? JSON.parse(match[4]) : undefined });
    }
  }, 600_000);

  const section = (name: string) => {
    const found = sections.get(name);
    if (!found) throw new Error(`the guest reported no '${name}' run; status ${boot.status}\n${boot.stdout}\n${boot.stderr}`);
    return found;
  };

  test('the guest ran all four', () => {
    expect(boot.status, boot.stderr).toBe(0);
    expect([...sections.keys()]).toEqual(['jest-zygote', 'jest-fresh', 'vitest-zygote', 'vitest-fresh']);
    console.log(`cgroup v2 guest: one boot, Jest and Vitest in both modes, ${boot.seconds.toFixed(1)} s`);
  });

  test.each(['jest-zygote', 'jest-fresh'])('%s: the leaking file fails as OOM-killed at its limit, the other passes, each file\'s peak memory is shown', (name) => {
    const { status, output, json } = section(name);
    expect(status).toBe(1);
    expect(output).toContain('[nsbox] limits/jest/leak.test.cjs was killed: it reached its memory limit (256 MiB)\n');
    expect(output).toMatch(/FAIL limits\/jest\/leak\.test\.cjs\n[\s\S]*nsbox: limits\/jest\/leak\.test\.cjs was killed: it reached its memory limit \(256 MiB\), before it reported a result/);
    expect(output).toMatch(/PASS limits\/jest\/light\.test\.cjs/);
    expect(output).toMatch(/^\[nsbox\] usage: limits\/jest\/leak\.test\.cjs: peak memory 256 MiB, CPU time [\d.]+ s/m);
    expect(output).toMatch(/^\[nsbox\] usage: limits\/jest\/light\.test\.cjs: peak memory [\d.]+ MiB, CPU time [\d.]+ s/m);
    expect(json.files.map((f: { file: string }) => f.file).sort()).toEqual(['limits/jest/leak.test.cjs', 'limits/jest/light.test.cjs']);
    const leak = json.files.find((f: { file: string }) => f.file.endsWith('leak.test.cjs'));
    const light = json.files.find((f: { file: string }) => f.file.endsWith('light.test.cjs'));
    expect(leak).toMatchObject({ usage: { memoryPeak: 256 * MiB, missing: [] }, limitsReached: { memory: { limit: 256 * MiB, kills: 1 } } });
    expect(light.usage.memoryPeak).toBeGreaterThan(40 * MiB);
    expect(light.usage.memoryPeak).toBeLessThan(256 * MiB);
    expect(light.limitsReached).toBeUndefined();
  });

  test.each(['vitest-zygote', 'vitest-fresh'])('%s: the same, through the pool', (name) => {
    const { status, output, json } = section(name);
    expect(status).toBe(1);
    expect(output).toContain('[nsbox] leak.test.js was killed: it reached its memory limit (256 MiB)\n');
    expect(output).toMatch(/✓ light\.test\.js/);
    expect(output).toMatch(/^\[nsbox\] usage: light\.test\.js: peak memory [\d.]+ MiB, CPU time [\d.]+ s/m);
    expect(json.files.map((f: { file: string }) => f.file).sort()).toEqual(['leak.test.js', 'light.test.js']);
    expect(json.files.find((f: { file: string }) => f.file === 'leak.test.js')).toMatchObject({ usage: { memoryPeak: 256 * MiB }, limitsReached: { memory: { limit: 256 * MiB, kills: 1 } } });
  });

  test('no cgroup is left in the guest', () => {
    expect(boot.stdout).toMatch(/== groups-after\n$/);
  });
});
