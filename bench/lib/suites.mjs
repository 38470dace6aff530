// Generates the benchmark suites and the runners' configs under bench/.work (never under /tmp: every
// sandbox has a private /tmp). Bare imports in the configs resolve from bench/node_modules.
import fs from 'node:fs';
import path from 'node:path';
import { createRequire } from 'node:module';

const TS_JEST = createRequire(import.meta.url).resolve('ts-jest');

/** Loop iterations for ~targetMs of CPU work, measured in this process (after a warm-up). */
export function calibrateLoop(targetMs = 100) {
  const run = (n) => {
    let x = 0;
    for (let i = 0; i < n; i++) x = (x * 31 + i) % 1000003;
    return x;
  };
  run(2e6);
  const n = 2e7;
  const times = [];
  for (let k = 0; k < 3; k++) {
    const t = process.hrtime.bigint();
    run(n);
    times.push(Number(process.hrtime.bigint() - t) / 1e6);
  }
  times.sort((a, b) => a - b);
  return Math.round((n * targetMs) / times[1]);
}

function realisticBody(i, loops, { esm }) {
  const imports = esm
    ? `import fs from 'node:fs';\nimport os from 'node:os';\nimport path from 'node:path';\nimport crypto from 'node:crypto';\nimport { execFileSync } from 'node:child_process';\n`
    : `const fs = require('node:fs');\nconst os = require('node:os');\nconst path = require('node:path');\nconst crypto = require('node:crypto');\nconst { execFileSync } = require('node:child_process');\n`;
  return `${imports}
test('realistic ${i}', () => {
  // ~100 ms of CPU work
  let x = 0;
  for (let i = 0; i < ${loops}; i++) x = (x * 31 + i) % 1000003;
  // a file in os.tmpdir(), written, read back and removed
  const file = path.join(os.tmpdir(), \`nsbox-bench-\${process.pid}-${i}-\${crypto.randomBytes(4).toString('hex')}.txt\`);
  fs.writeFileSync(file, String(x));
  expect(fs.readFileSync(file, 'utf8')).toBe(String(x));
  fs.unlinkSync(file);
  // one child process
  execFileSync('true');
  expect(crypto.createHash('sha1').update(String(x)).digest('hex')).toHaveLength(40);
});
`;
}

/**
 * A file of a TypeScript project: typed code of its own under src/ (type-checked by ts-jest, covered by
 * Babel's istanbul plugin), imported by the test.
 */
function typescriptFiles(dir, i) {
  const name = `m${String(i).padStart(3, '0')}`;
  fs.writeFileSync(
    path.join(dir, 'src', `${name}.ts`),
    `export interface Item${i} {\n  id: number;\n  tags: string[];\n}\n\n` +
      `export function summarize${i}(items: Item${i}[]): { count: number; tags: Record<string, number> } {\n` +
      `  const tags: Record<string, number> = {};\n  for (const item of items) for (const tag of item.tags) tags[tag] = (tags[tag] ?? 0) + 1;\n` +
      `  return { count: items.length, tags };\n}\n`,
  );
  return (
    `import { summarize${i}, type Item${i} } from '../src/${name}';\n\n` +
    `test('typescript ${i}', () => {\n  const items: Item${i}[] = [{ id: 1, tags: ['a', 'b'] }, { id: 2, tags: ['a'] }];\n` +
    `  expect(summarize${i}(items)).toEqual({ count: 2, tags: { a: 2, b: 1 } });\n});\n`
  );
}

const trivialBody = (i) => `test('trivial ${i}', () => {\n  expect(1).toBe(1);\n});\n`;

function writeFiles(dir, count, kind, loops, { esm, ext }) {
  fs.rmSync(dir, { recursive: true, force: true });
  fs.mkdirSync(path.join(dir, 'tests'), { recursive: true });
  if (kind === 'typescript') {
    fs.mkdirSync(path.join(dir, 'src'));
    fs.writeFileSync(
      path.join(dir, 'tsconfig.json'),
      JSON.stringify({ compilerOptions: { target: 'es2022', module: 'commonjs', strict: true, esModuleInterop: true, types: [] }, include: ['src', 'tests', 'globals.d.ts'] }, null, 2),
    );
    // Jest's globals, typed here: the suite may lie outside any node_modules that has @types/jest.
    fs.writeFileSync(
      path.join(dir, 'globals.d.ts'),
      'declare function test(name: string, fn: () => void | Promise<void>): void;\ndeclare function expect(value: unknown): { toEqual(expected: unknown): void; toBe(expected: unknown): void };\n',
    );
  }
  for (let i = 0; i < count; i++) {
    const name = `f${String(i).padStart(3, '0')}.test.${kind === 'typescript' ? 'ts' : ext}`;
    const body = kind === 'trivial' ? trivialBody(i) : kind === 'typescript' ? typescriptFiles(dir, i) : realisticBody(i, loops, { esm });
    fs.writeFileSync(path.join(dir, 'tests', name), body);
  }
}

export const VITEST_VARIANTS = ['forks', 'threads', 'nsbox', 'loopback', 'nsboxfresh'];
/** Only when the pool has the option: the sandbox cost alone, without booting the next one ahead. */
export const VITEST_NOPREWARM = 'noprewarm';
export const JEST_VARIANTS = ['default', 'fresh', 'nsbox', 'nsboxfresh'];

/** Writes one Vitest suite (ESM, globals) and a config per variant; returns { variant: configPath }. */
export function generateVitestSuite(work, count, kind, loops, variants = VITEST_VARIANTS) {
  const dir = path.join(work, `vitest-${count}-${kind}`);
  writeFiles(dir, count, kind, loops, { esm: true, ext: 'js' });
  fs.writeFileSync(path.join(dir, 'package.json'), JSON.stringify({ name: `bench-vitest-${count}-${kind}`, private: true, type: 'module' }, null, 2));
  const pools = {
    forks: `'forks'`,
    threads: `'threads'`,
    nsbox: 'nsbox()',
    loopback: `nsbox({ network: 'loopback' })`,
    noprewarm: "nsbox({ mode: 'fresh', prewarm: false })",
    nsboxfresh: "nsbox({ mode: 'fresh' })",
  };
  const configs = {};
  for (const variant of variants) {
    const file = path.join(dir, `vitest.${variant}.config.mjs`);
    const usesNsbox = variant !== 'forks' && variant !== 'threads';
    fs.writeFileSync(
      file,
      `${usesNsbox ? "import nsbox from 'vitest-pool-nsbox';\n" : ''}` +
        `export default {\n  test: {\n    root: ${JSON.stringify(dir)},\n    include: ['tests/**/*.test.js'],\n    globals: true,\n    pool: ${pools[variant]},\n  },\n};\n`,
    );
    configs[variant] = file;
  }
  return { dir, configs };
}

/** Writes one Jest suite (CommonJS .test.cjs) and a config per variant; returns { variant: configPath }. */
export function generateJestSuite(work, count, kind, loops) {
  const dir = path.join(work, `jest-${count}-${kind}`);
  writeFiles(dir, count, kind, loops, { esm: false, ext: 'cjs' });
  fs.writeFileSync(path.join(dir, 'package.json'), JSON.stringify({ name: `bench-jest-${count}-${kind}`, private: true }, null, 2));
  const extra = {
    default: {},
    // Jest restarts a process worker after every file when workerIdleMemoryLimit is 0 (jest-worker's
    // special case), and any workerIdleMemoryLimit also turns the in-band heuristic off.
    fresh: { workerIdleMemoryLimit: 0 },
    nsbox: { preset: 'jest-environment-nsbox' },
    nsboxfresh: { preset: 'jest-environment-nsbox', testEnvironmentOptions: { nsbox: { mode: 'fresh' } } },
  };
  const configs = {};
  for (const variant of JEST_VARIANTS) {
    const file = path.join(dir, `jest.${variant}.config.cjs`);
    // The TypeScript suite: ts-jest (type-checking, its default) and Babel coverage, as real projects run it.
    const typescript =
      kind === 'typescript'
        ? { testMatch: ['**/*.test.ts'], transform: { '\\.ts$': TS_JEST }, collectCoverage: true, coverageProvider: 'babel', collectCoverageFrom: ['src/**/*.ts'], coverageReporters: ['json-summary'] }
        : { testMatch: ['**/*.test.cjs'] };
    const config = {
      rootDir: dir,
      roots: ['<rootDir>/tests'],
      ...typescript,
      // Out of /tmp, and one per variant so that no variant warms another's haste map.
      cacheDirectory: path.join(work, 'jest-cache', `${count}-${kind}-${variant}`),
      ...extra[variant],
    };
    fs.writeFileSync(file, `module.exports = ${JSON.stringify(config, null, 2)};\n`);
    configs[variant] = file;
  }
  return { dir, configs };
}
