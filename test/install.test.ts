// The three packages as users get them: packed with `pnpm pack` (workspace:* becomes the real
// version), then installed from the tarballs into fresh projects outside the workspace (under
// os.tmpdir()) with npm, pnpm and yarn classic, each with nothing but the tarballs and the registry.
// In each project one Jest file runs under the preset, one Vitest file under the pool, and
// `npx nsbox doctor` runs. Nothing is skipped: a package manager that cannot install fails its test.
import { execFileSync } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { createRequire } from 'node:module';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { REPO, newcomerEnv, shell } from './newcomer.js';

const PNPM = 'npx --yes pnpm@10.34.9';
const JEST = '30.5.2';
const VITEST = '4.1.12';
const VITE = '8.3.8';

interface Pack {
  name: string;
  dir: string;
  tarball: string;
  files: string[];
  manifest: Record<string, any>;
}

/** What a user needs from each package, besides package.json, README.md and LICENSE. */
const NEEDED: Record<string, string[]> = {
  nsbox: ['bin/nsbox.js', 'dist/cli.js', 'dist/index.js', 'dist/index.d.ts', 'dist/inside/preload.cjs', 'dist/inside/contain.cjs'],
  'jest-environment-nsbox': ['jest-preset.js', 'build/environment.js', 'build/runner.js', 'build/child.js', 'build/zygote-prepare.js', 'warm/zygote-warm-up.js', 'build/environment.d.ts'],
  'vitest-pool-nsbox': ['dist/index.js', 'dist/worker.js', 'dist/index.d.ts'],
};

const env = newcomerEnv({ CI: 'true' });
let work: string;
const packs: Record<string, Pack> = {};

async function must(command: string, cwd: string): Promise<string> {
  const result = await shell(command, cwd, env);
  if (result.status !== 0) throw new Error(`'${command}' in ${cwd} exited with ${result.status ?? result.signal}:\n${result.output}`);
  return result.output.replace(/\x1b\[[0-9;]*m/g, '');
}

/** Every file a manifest points at: main, types, bin and the targets of exports. */
function entryPoints(manifest: Record<string, any>): string[] {
  const found = new Set<string>();
  const walk = (value: unknown): void => {
    if (typeof value === 'string') found.add(path.normalize(value));
    else if (value && typeof value === 'object') Object.values(value).forEach(walk);
  };
  walk([manifest.main, manifest.types, manifest.bin, manifest.exports]);
  return [...found].filter((entry) => entry !== 'undefined');
}

beforeAll(async () => {
  work = fs.mkdtempSync(path.join(os.tmpdir(), 'nsbox-install-'));
  const dest = path.join(work, 'packs');
  fs.mkdirSync(dest);
  for (const dir of ['core', 'jest-env', 'vitest-pool']) {
    const pkgDir = path.join(REPO, 'packages', dir);
    const before = new Set(fs.readdirSync(dest));
    await must(`${PNPM} pack --pack-destination ${dest}`, pkgDir);
    const [tarball] = fs.readdirSync(dest).filter((f) => !before.has(f));
    const tarPath = path.join(dest, tarball);
    const files = execFileSync('tar', ['tzf', tarPath], { encoding: 'utf8' })
      .split('\n')
      .filter(Boolean)
      .map((f) => f.replace(/^package\//, ''));
    const manifest = JSON.parse(execFileSync('tar', ['xzf', tarPath, '-O', 'package/package.json'], { encoding: 'utf8' }));
    packs[manifest.name] = { name: manifest.name, dir: pkgDir, tarball: tarPath, files, manifest };
  }
}, 300_000);

afterAll(() => {
  if (work) fs.rmSync(work, { recursive: true, force: true });
});

describe('the packed tarballs', () => {
  it('are the three packages', () => {
    expect(Object.keys(packs).sort()).toEqual(['jest-environment-nsbox', 'nsbox', 'vitest-pool-nsbox']);
  });

  for (const name of Object.keys(NEEDED)) {
    it(`${name}: holds what a user needs (entry points, README, LICENSE) and no tests or sources`, () => {
      const { files, manifest } = packs[name];
      for (const file of ['package.json', 'README.md', 'LICENSE', ...NEEDED[name], ...entryPoints(manifest)]) expect(files, file).toContain(file);
      expect(files.filter((f) => /(^|\/)(test|tests|__tests__|fixtures|src)\/|\.test\.|\.spec\.|tsconfig/.test(f))).toEqual([]);
      for (const field of ['dependencies', 'peerDependencies', 'optionalDependencies']) {
        for (const [dep, spec] of Object.entries<string>(manifest[field] ?? {})) expect(spec, `${field}.${dep}`).not.toMatch(/^workspace:/);
      }
      for (const field of ['name', 'version', 'description', 'license', 'keywords', 'engines', 'files']) expect(manifest[field], field).toBeTruthy();
      // A devDependency of a team whose laptops are macOS or Windows must install there too (nsbox then
      // says at start that it cannot sandbox): no "os" or "cpu" restriction.
      expect({ os: manifest.os, cpu: manifest.cpu }).toEqual({ os: undefined, cpu: undefined });
      expect(manifest.license).toBe('MIT');
      const license = execFileSync('tar', ['xzf', packs[name].tarball, '-O', 'package/LICENSE'], { encoding: 'utf8' });
      expect(license).toBe(fs.readFileSync(path.join(REPO, 'LICENSE'), 'utf8'));
    });
  }

  it("the adapters depend on the very nsbox version packed with them", () => {
    const version = packs.nsbox.manifest.version;
    expect(packs['jest-environment-nsbox'].manifest.dependencies.nsbox).toBe(version);
    expect(packs['vitest-pool-nsbox'].manifest.dependencies.nsbox).toBe(version);
  });
});

describe('on a macOS laptop (npm told the platform is darwin/arm64)', () => {
  it('npm install of the three packages succeeds: nothing restricts the platform, and koffi brings its macOS binary', { timeout: 300_000 }, async () => {
    const dir = path.join(work, 'macos');
    fs.mkdirSync(dir);
    fs.writeFileSync(path.join(dir, 'package.json'), JSON.stringify({ name: 'macos-laptop', private: true }));
    const tarballs = ['nsbox', 'jest-environment-nsbox', 'vitest-pool-nsbox'].map((name) => packs[name].tarball);
    // --os/--cpu make npm check and resolve platform-specific packages as it would on that laptop.
    await must(`npm install --os=darwin --cpu=arm64 --ignore-scripts --no-audit --no-fund --legacy-peer-deps ${tarballs.join(' ')}`, dir);
    for (const name of ['nsbox', 'jest-environment-nsbox', 'vitest-pool-nsbox', '@koromix/koffi-darwin-arm64']) {
      expect(fs.existsSync(path.join(dir, 'node_modules', name, 'package.json')), name).toBe(true);
    }
  });
});

const JEST_TEST = `const fs = require('node:fs');
const os = require('node:os');
const path = require('node:path');

test('runs in its own sandbox', () => {
  fs.writeFileSync('/tmp/nsbox-install-check', 'written inside');
  const seen = { hostname: os.hostname(), ppid: process.ppid, tmp: fs.readdirSync('/tmp') };
  fs.writeFileSync(path.join(__dirname, '..', 'seen-jest.json'), JSON.stringify(seen));
  expect(os.hostname()).toMatch(/^nsbox-/);
});
`;

const VITEST_TEST = `import fs from 'node:fs';
import os from 'node:os';
import { expect, test } from 'vitest';

test('runs in its own sandbox', () => {
  fs.writeFileSync('/tmp/nsbox-install-check', 'written inside');
  const seen = { hostname: os.hostname(), ppid: process.ppid, tmp: fs.readdirSync('/tmp') };
  fs.writeFileSync(new URL('../seen-vitest.json', import.meta.url), JSON.stringify(seen));
  expect(os.hostname()).toMatch(/^nsbox-/);
});
`;

const NODE_TEST = `const test = require('node:test');
const assert = require('node:assert');
const fs = require('node:fs');
const os = require('node:os');
const path = require('node:path');

test('runs in the sandbox of nsbox run', () => {
  fs.writeFileSync('/tmp/nsbox-install-check', 'written inside');
  const seen = { hostname: os.hostname(), ppid: -1, tmp: fs.readdirSync('/tmp') };
  fs.writeFileSync(path.join(__dirname, '..', 'seen-node-test.json'), JSON.stringify(seen));
  assert.match(os.hostname(), /^nsbox-/);
});
`;

/** A fresh project that uses the three tarballs, as a user's would after \`npm install -D ...\`. */
function makeProject(manager: string): string {
  const dir = path.join(work, manager);
  fs.mkdirSync(path.join(dir, 'jest'), { recursive: true });
  fs.mkdirSync(path.join(dir, 'vitest'));
  const file = (name: string) => `file:${packs[name].tarball}`;
  const manifest: Record<string, unknown> = {
    name: `nsbox-install-check-${manager}`,
    version: '1.0.0',
    private: true,
    devDependencies: {
      jest: JEST,
      'jest-environment-nsbox': file('jest-environment-nsbox'),
      nsbox: file('nsbox'),
      vitest: VITEST,
      'vitest-pool-nsbox': file('vitest-pool-nsbox'),
    },
  };
  // nsbox is not on the registry: the adapters' dependency on nsbox@<version> is pointed at the
  // tarball, as publishing it would. Each manager has its own field for that.
  const override = { nsbox: file('nsbox') };
  if (manager === 'npm') manifest.overrides = override;
  if (manager === 'pnpm') manifest.pnpm = { overrides: override };
  // yarn classic fails the whole install on a missing optional dependency, which vite 8.4.0's
  // napi-windows-process-start-time is on this registry (npm and pnpm skip it): the project pins vite
  // to the version of the workspace's lockfile. Any Vitest 4 project on yarn classic needs the same.
  if (manager === 'yarn') manifest.resolutions = { ...override, vite: VITE };
  fs.writeFileSync(path.join(dir, 'package.json'), `${JSON.stringify(manifest, null, 2)}\n`);
  // The one line each adapter's README asks for (plus where this project keeps each runner's tests).
  fs.writeFileSync(
    path.join(dir, 'jest.config.js'),
    "module.exports = { preset: 'jest-environment-nsbox', testMatch: ['<rootDir>/jest/**/*.test.js'] };\n",
  );
  fs.writeFileSync(
    path.join(dir, 'vitest.config.mjs'),
    "import { defineConfig } from 'vitest/config';\nimport nsbox from 'vitest-pool-nsbox';\n\nexport default defineConfig({ test: { pool: nsbox(), include: ['vitest/**/*.test.mjs'] } });\n",
  );
  fs.writeFileSync(path.join(dir, 'jest', 'sandbox.test.js'), JEST_TEST);
  // A runner without an adapter (node:test), run whole under \`npx nsbox run -- npm test\`.
  manifest.scripts = { test: 'node --test node-test/sandbox.test.js' };
  fs.writeFileSync(path.join(dir, 'package.json'), `${JSON.stringify(manifest, null, 2)}\n`);
  fs.mkdirSync(path.join(dir, 'node-test'));
  fs.writeFileSync(path.join(dir, 'node-test', 'sandbox.test.js'), NODE_TEST);
  fs.writeFileSync(path.join(dir, 'vitest', 'sandbox.test.mjs'), VITEST_TEST);
  return dir;
}

const INSTALL: Record<string, string> = {
  npm: 'npm install --no-audit --no-fund',
  pnpm: `${PNPM} install`,
  // yarn classic caches a file: tarball by name and version, so its shared cache would hand back the
  // nsbox 0.1.0 packed by an earlier run: the project gets a cache of its own (the check of the
  // installed files below catches a stale copy).
  yarn: 'npx --yes yarn@1 install --non-interactive --no-progress --cache-folder .yarn-cache',
};

/** What a file saw inside, checked against the host. */
function checkSeen(dir: string, runner: string): void {
  const seen = JSON.parse(fs.readFileSync(path.join(dir, `seen-${runner}.json`), 'utf8'));
  expect(seen.hostname).toMatch(/^nsbox-[0-9a-f]+$/);
  expect(seen.hostname).not.toBe(os.hostname());
  if (runner !== 'node-test') expect(seen.ppid).toBe(1); // the runner's worker is the init's child
  expect(seen.tmp).toContain('nsbox-install-check');
  expect(fs.existsSync('/tmp/nsbox-install-check')).toBe(false);
}

for (const manager of Object.keys(INSTALL)) {
  describe(`installed from the tarballs with ${manager}`, () => {
    let dir: string;

    it(`${INSTALL[manager]} installs the three packages, nsbox once`, { timeout: 600_000 }, async () => {
      dir = makeProject(manager);
      const started = Date.now();
      const output = await must(INSTALL[manager], dir);
      const notes = output.split('\n').filter((line) => /koffi|build script|install script/i.test(line));
      console.log(`${manager}: install took ${((Date.now() - started) / 1000).toFixed(1)} s${notes.map((l) => `\n  ${l.trim()}`).join('')}`);
      // The installed files are the packed ones (no stale copy from a cache).
      for (const pack of Object.values(packs)) {
        const installed = fs.realpathSync(path.join(dir, 'node_modules', pack.name));
        const unpacked = path.join(work, 'unpacked', manager, pack.name);
        fs.mkdirSync(unpacked, { recursive: true });
        execFileSync('tar', ['xzf', pack.tarball, '-C', unpacked, '--strip-components=1']);
        for (const file of pack.files.filter((f) => f !== 'package.json')) {
          expect(fs.readFileSync(path.join(installed, file)).equals(fs.readFileSync(path.join(unpacked, file))), `${pack.name}/${file}`).toBe(true);
        }
        // One nsbox for everyone: the adapters resolve the same copy as the project.
        const own = fs.realpathSync(createRequire(path.join(installed, 'package.json')).resolve('nsbox/package.json'));
        expect(own).toBe(fs.realpathSync(path.join(dir, 'node_modules', 'nsbox', 'package.json')));
      }
    });

    it('npx jest: a Jest 30 file runs in its own sandbox under the preset', { timeout: 120_000 }, async () => {
      expect(dir, 'the install failed').toBeDefined();
      const output = await must('npx jest', dir);
      expect(output).toMatch(/Tests:\s+1 passed, 1 total/);
      checkSeen(dir, 'jest');
    });

    it(`npx vitest run: a Vitest ${VITEST} file runs in its own sandbox under the pool`, { timeout: 120_000 }, async () => {
      expect(dir, 'the install failed').toBeDefined();
      const output = await must('npx vitest run', dir);
      expect(output).toMatch(/Tests\s+1 passed \(1\)/);
      checkSeen(dir, 'vitest');
    });

    if (manager === 'npm') {
      it('npx nsbox run -- npm test: a runner without an adapter (node:test) runs in one sandbox', { timeout: 120_000 }, async () => {
        expect(dir, 'the install failed').toBeDefined();
        const command = 'npx nsbox run -- npm test';
        expect(fs.readFileSync(path.join(REPO, 'docs/ci-and-containers.md'), 'utf8')).toContain(command);
        const output = await must(command, dir);
        expect(output).toMatch(/^# pass 1$/m);
        checkSeen(dir, 'node-test');
      });
    }

    it('npx nsbox doctor: says sandboxes can be created', { timeout: 120_000 }, async () => {
      expect(dir, 'the install failed').toBeDefined();
      const output = await must('npx nsbox doctor', dir);
      expect(output).toContain('Sandboxes can be created on this host.');
    });
  });
}
