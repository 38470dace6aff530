#!/usr/bin/env node
// The nsbox benchmark (`npm run bench` from the repo root; `node bench/run.mjs --quick` for a smoke test).
//
// In one run, round by round (every variant once per round, the order rotated each round), it measures
// wall time and the peak of the summed RSS of each variant's whole process tree (sampled from /proc
// every ~20 ms) for:
//   - Vitest 4.1.12: pool 'forks', 'threads', nsbox() (zygote mode), nsbox({ network: 'loopback' }) and nsbox({ mode: 'fresh' });
//   - Jest 30.5.2: stock defaults, stock with a fresh worker process per file, preset jest-environment-nsbox;
// on generated suites of 50 files, trivial and realistic (--full: also 200 files, and nsbox without
// prewarm); and one sandbox alone against a plain spawn, through the API and the CLI, with the memory
// (RSS, PSS, USS) of one idle worker. Results: stdout and bench/results/latest.md (full.md for --full).
//
// Why 200-file suites are not in the default run: 7 variants x 250 realistic files x ~100 ms of CPU is
// 175 s of test code per round on one worker (the runners' default on 2 cores), before any runner
// overhead; 5 rounds with them take ~45 min, without them ~13 min.
//
// Options: --full, --quick (1 round, 5 reps of the single-sandbox runs; writes bench/results/quick.md),
// --rounds N, --reps N (single-sandbox repetitions per round), --only vitest,jest,single, --keep (keep
// the generated suites in bench/.work), --no-wait (do not wait, before each measurement, for other
// processes on the machine to go quiet; by default it waits up to 2 min), and for smoke tests of the
// benchmark itself --files N (suites of N files), --work DIR (instead of bench/.work), --out FILE.
import { execFile, execFileSync } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import { foreignLoad, measureCommand, waitQuiet } from './lib/proc.mjs';
import { calibrateLoop, generateJestSuite, generateVitestSuite, JEST_VARIANTS, VITEST_NOPREWARM, VITEST_VARIANTS } from './lib/suites.mjs';
import { linkSnapshotInto, snapshotPackages } from './lib/snapshot.mjs';

const BENCH = path.dirname(fileURLToPath(import.meta.url));
const ROOT = path.dirname(BENCH);
const RESULTS = path.join(BENCH, 'results');
const VITEST = path.join(ROOT, 'e2e/vitest4/node_modules/vitest/vitest.mjs');
const JEST = path.join(ROOT, 'e2e/suite/node_modules/jest/bin/jest.js');
const WORKER = path.join(BENCH, 'fixtures/idle-worker.cjs');

function usage(message) {
  console.error(`bench: ${message}\nusage: node bench/run.mjs [--full | --quick] [--rounds N] [--reps N] [--only vitest,jest,single] [--files N] [--typescript] [--work DIR] [--out FILE] [--keep] [--no-wait]`);
  process.exit(2);
}

let opts;
try {
  ({ values: opts } = parseArgs({
    options: {
      quick: { type: 'boolean', default: false },
      full: { type: 'boolean', default: false },
      rounds: { type: 'string' },
      reps: { type: 'string' },
      only: { type: 'string' },
      // For smoke tests of the benchmark itself: suites of N files, another work directory and output.
      files: { type: 'string' },
      work: { type: 'string' },
      out: { type: 'string' },
      keep: { type: 'boolean', default: false },
      typescript: { type: 'boolean', default: false },
      'no-wait': { type: 'boolean', default: false },
    },
  }));
} catch (error) {
  usage(error.message);
}
const count = (option, fallback) => {
  const value = opts[option] ?? fallback;
  if (!/^[1-9]\d*$/.test(String(value))) usage(`--${option} ${value}: expected a whole number >= 1`);
  return Number(value);
};
const ROUNDS = count('rounds', opts.quick ? 1 : 5);
const REPS = count('reps', opts.quick ? 5 : 30);
const ONLY = new Set((opts.only ?? 'vitest,jest,single').split(','));
for (const part of ONLY) if (!['vitest', 'jest', 'single'].includes(part)) usage(`--only ${opts.only}: '${part}' is not one of vitest, jest, single`);
if (opts.full && opts.quick) usage('--full and --quick exclude each other');
const SIZES = opts.files ? [count('files')] : opts.full ? [50, 200] : [50];
// --typescript adds, for Jest, a suite that looks like a TypeScript project (ts-jest, Babel coverage).
const SUITES = SIZES.flatMap((n) => [[n, 'trivial'], [n, 'realistic'], ...(opts.typescript ? [[n, 'typescript']] : [])]);
const WORK = opts.work ? path.resolve(opts.work) : path.join(BENCH, '.work');
const LOGS = path.join(WORK, 'logs');
const OUT = opts.out ? path.resolve(opts.out) : path.join(RESULTS, opts.quick ? 'quick.md' : opts.full ? 'full.md' : 'latest.md');
const COMMAND = opts.quick ? 'node bench/run.mjs --quick' : opts.full ? 'npm run bench -- --full' : 'npm run bench';

// ---------------------------------------------------------------------------------------------------
const median = (xs) => {
  const s = xs.filter((x) => Number.isFinite(x)).sort((a, b) => a - b);
  if (s.length === 0) return NaN;
  const m = s.length >> 1;
  return s.length % 2 ? s[m] : (s[m - 1] + s[m]) / 2;
};
const sec = (ms) => `${(ms / 1000).toFixed(1)} s`;
const mb = (b) => `${(b / 1e6).toFixed(0)} MB`;
const msf = (ms) => `${ms.toFixed(1)} ms`;
const ratio = (a, b) => (a / b).toFixed(2);
const log = (line) => process.stderr.write(`${line}\n`);
const rotate = (xs, k) => xs.map((_, i) => xs[(i + k) % xs.length]);
const sh = (cmd) => {
  try {
    return execFileSync('sh', ['-c', cmd], { encoding: 'utf8', stdio: ['ignore', 'pipe', 'ignore'] }).trim();
  } catch {
    return '?';
  }
};

function machine() {
  const cpu = /model name\s*:\s*(.+)/.exec(fs.readFileSync('/proc/cpuinfo', 'utf8'))?.[1] ?? '?';
  const version = (p) => JSON.parse(fs.readFileSync(path.join(p, 'package.json'), 'utf8')).version;
  return {
    nproc: sh('nproc'),
    kernel: sh('uname -r'),
    node: process.version,
    cpu,
    memory: `${(os.totalmem() / 2 ** 30).toFixed(1)} GiB`,
    utilLinux: sh('unshare --version').replace(/^unshare from /, ''),
    vitest: version(path.dirname(fs.realpathSync(VITEST))),
    jest: version(path.dirname(path.dirname(fs.realpathSync(JEST)))),
    date: new Date().toISOString(),
    uid: process.getuid(),
    loadStart: os.loadavg().map((x) => x.toFixed(2)).join(' '),
  };
}

function checkPrerequisites() {
  const missing = [VITEST, JEST, path.join(ROOT, 'packages/core/dist/index.js'), path.join(BENCH, 'node_modules/vitest-pool-nsbox/package.json'), path.join(BENCH, 'node_modules/jest-environment-nsbox/package.json')].filter((p) => !fs.existsSync(p));
  if (missing.length > 0) {
    console.error(`bench: missing ${missing.join(', ')}\nRun 'npm run bench' from the repo root (it runs scripts/setup.sh first), or 'sh scripts/setup.sh'.`);
    process.exit(2);
  }
}

// ---------------------------------------------------------------------------------------------------
async function main() {
  checkPrerequisites();
  const started = Date.now();
  const info = machine();
  fs.mkdirSync(LOGS, { recursive: true });
  for (const f of fs.readdirSync(LOGS)) fs.rmSync(path.join(LOGS, f), { force: true });
  // Every round measures this copy of the built packages, whatever happens to packages/ meanwhile.
  const snapshot = snapshotPackages(ROOT, path.join(WORK, 'snapshot'));
  info.code = snapshot.id;
  const loops = calibrateLoop(100);
  const poolSource = fs.readFileSync(path.join(snapshot.vitestPool, 'dist/index.js'), 'utf8');
  const vitestVariants = opts.full && /\bprewarm\b/.test(poolSource) ? [...VITEST_VARIANTS, VITEST_NOPREWARM] : VITEST_VARIANTS;
  log(`bench: ${ROUNDS} round(s); suites ${SUITES.map(([n, k]) => `${n} ${k}`).join(', ')}; ${REPS} reps per round for single sandboxes; CPU loop ${loops} iterations (~100 ms)`);

  // The runs of the suites, one job per (runner, suite, variant).
  const jobs = [];
  for (const [count, kind] of SUITES) {
    if (ONLY.has('vitest') && kind !== 'typescript') {
      const suite = generateVitestSuite(WORK, count, kind, loops, vitestVariants);
      linkSnapshotInto(suite.dir, snapshot);
      for (const variant of vitestVariants) {
        jobs.push({ runner: 'vitest', count, kind, variant, cwd: suite.dir, args: [VITEST, 'run', '--config', suite.configs[variant]] });
      }
    }
    if (ONLY.has('jest')) {
      const suite = generateJestSuite(WORK, count, kind, loops);
      linkSnapshotInto(suite.dir, snapshot);
      for (const variant of JEST_VARIANTS) {
        jobs.push({ runner: 'jest', count, kind, variant, cwd: suite.dir, args: [JEST, '--config', suite.configs[variant]] });
      }
    }
  }
  for (const job of jobs) {
    job.key = `${job.runner} ${job.count} ${job.kind} ${job.variant}`;
    job.log = path.join(LOGS, `${job.runner}-${job.count}-${job.kind}-${job.variant}.log`);
    job.runs = [];
  }
  const env = { ...process.env, FORCE_COLOR: '0', NO_COLOR: '1' };
  delete env.NSBOX_SANDBOX;
  // pnpm's .bin shims set NODE_PATH to the store's hoisted modules: the runners must find theirs alone.
  delete env.NODE_PATH;

  const single = ONLY.has('single');
  const singleRuns = {};
  const memoryRuns = { plain: [], nsbox: [] };
  const singleForeign = [];
  let failures = 0;
  let waitedMs = 0;
  const quiet = async (what) => {
    if (opts['no-wait']) return;
    const w = await waitQuiet();
    waitedMs += w.waited;
    if (w.waited > 5000 || !w.quiet) log(`bench: waited ${sec(w.waited)} for other processes to go quiet before ${what}${w.quiet ? '' : ` (still ${w.load.toFixed(2)} cores busy: measuring anyway)`}`);
  };

  for (let round = 0; round < ROUNDS; round++) {
    const roundStart = Date.now();
    // Every (runner, suite) group once per round, its variants in an order rotated by the round.
    const groups = [...new Set(jobs.map((j) => `${j.runner} ${j.count} ${j.kind}`))];
    for (const group of groups) {
      const members = jobs.filter((j) => `${j.runner} ${j.count} ${j.kind}` === group);
      for (const job of rotate(members, round)) {
        await quiet(job.key);
        const r = await measureCommand(process.execPath, job.args, { cwd: job.cwd, env, log: job.log });
        const ok = r.code === 0;
        if (!ok) {
          failures++;
          const tail = fs.readFileSync(job.log, 'utf8').split('\n').slice(-25).join('\n');
          log(`bench: FAILED ${job.key} (exit ${r.code ?? r.signal}); last lines of ${path.relative(ROOT, job.log)}:\n${tail}`);
        }
        job.runs.push({ ...r, ok });
        log(`[round ${round + 1}/${ROUNDS}] ${job.key}: ${sec(r.ms)}, peak RSS ${mb(r.peakRss)} (${r.peakProcesses} processes at most), other load ${r.foreign.toFixed(2)} cores${ok ? '' : ' FAILED'}`);
      }
    }
    if (single) {
      await quiet('the single-sandbox runs');
      const t = Date.now();
      const out = await new Promise((resolve, reject) =>
        execFile(process.execPath, [path.join(BENCH, 'lib/single-round.mjs'), snapshot.core, WORKER, String(REPS)], { maxBuffer: 64 << 20 }, (error, stdout, stderr) =>
          error ? reject(new Error(`single-sandbox round failed: ${stderr || error.message}`)) : resolve(JSON.parse(stdout)),
        ),
      );
      for (const [name, xs] of Object.entries(out.runs)) (singleRuns[name] ??= []).push(...xs);
      for (const which of ['plain', 'nsbox']) memoryRuns[which].push(...out.memory[which]);
      singleForeign.push(out.foreign);
      log(`[round ${round + 1}/${ROUNDS}] single sandboxes: ${REPS} reps of ${out.variants} variants in ${sec(Date.now() - t)}, other load ${out.foreign.toFixed(2)} cores`);
    }
    const took = Date.now() - roundStart;
    if (round === 0 && ROUNDS > 1) log(`bench: round 1 took ${sec(took)}; about ${((took * ROUNDS) / 60000).toFixed(0)} min in all`);
  }
  info.loadEnd = os.loadavg().map((x) => x.toFixed(2)).join(' ');
  info.duration = sec(Date.now() - started);
  info.waited = sec(waitedMs);

  fs.writeFileSync(path.join(LOGS, 'raw.json'), JSON.stringify({ info, jobs, singleRuns, memoryRuns, loops, singleForeign, vitestVariants }));
  report({ info, jobs, singleRuns, memoryRuns, loops, failures, singleForeign, vitestVariants });
  if (!opts.keep) {
    for (const entry of fs.readdirSync(WORK)) if (entry !== 'logs') fs.rmSync(path.join(WORK, entry), { recursive: true, force: true });
  }
  if (failures > 0) process.exitCode = 1;
}

// ---------------------------------------------------------------------------------------------------
function summarize(job) {
  const good = job.runs.filter((r) => r.ok);
  return {
    ms: median(good.map((r) => r.ms)),
    rss: median(good.map((r) => r.peakRss)),
    user: median(good.map((r) => r.cpu.user)),
    system: median(good.map((r) => r.cpu.system)),
    n: good.length,
    failed: job.runs.length - good.length,
    procs: Math.max(0, ...good.map((r) => r.peakProcesses)),
    foreign: median(job.runs.map((r) => r.foreign)),
  };
}

function report({ info, jobs, singleRuns, memoryRuns, loops, failures, singleForeign, vitestVariants }) {
  const lines = [];
  const md = [];
  const stats = new Map(jobs.map((j) => [j.key, summarize(j)]));
  const get = (runner, count, kind, variant) => stats.get(`${runner} ${count} ${kind} ${variant}`);

  const compare = (runner, count, kind, variant, base) => {
    const a = get(runner, count, kind, variant);
    const b = get(runner, count, kind, base);
    if (!a || !b) return;
    const flag = a.failed || b.failed ? ` [failed runs: ${variant} ${a.failed}, ${base} ${b.failed}]` : '';
    lines.push(
      `${runner} ${count} ${kind}: ${variant}/${base} = ${ratio(a.ms, b.ms)} (${sec(a.ms)} / ${sec(b.ms)}), ` +
        `CPU ${variant}/${base} = ${ratio(a.user + a.system, b.user + b.system)} (user ${a.user.toFixed(1)} s / ${b.user.toFixed(1)} s, system ${a.system.toFixed(1)} s / ${b.system.toFixed(1)} s), ` +
        `peak RSS ${variant}/${base} = ${ratio(a.rss, b.rss)} (${mb(a.rss)} / ${mb(b.rss)})${flag}`,
    );
  };
  for (const [count, kind] of SUITES) {
    for (const v of ['nsbox', 'nsboxfresh', 'loopback', 'threads', VITEST_NOPREWARM]) compare('vitest', count, kind, v, 'forks');
    compare('vitest', count, kind, 'nsbox', 'nsboxfresh');
  }
  for (const [count, kind] of SUITES) {
    for (const v of ['nsbox', 'nsboxfresh', 'fresh']) compare('jest', count, kind, v, 'default');
    compare('jest', count, kind, 'nsbox', 'fresh');
    compare('jest', count, kind, 'nsbox', 'nsboxfresh');
  }

  const s = (name) => median(singleRuns[name] ?? []);
  const haveSingle = Object.keys(singleRuns).length > 0;
  if (haveSingle) {
    const plainTrue = s('plain spawn true');
    const apiTrue = s('nsbox API spawn true');
    const chain = s('stage-0 chain true');
    const execEntry = s('plain node exec.cjs (no sandbox)');
    const nodeStart = s('plain spawn node -e 0');
    const koffi = s('plain node -e require(koffi)');
    const one = (label, a, b) => lines.push(`${label} = ${ratio(s(a), s(b))} (${msf(s(a))} / ${msf(s(b))})`);
    one('single sandbox, API: nsbox spawn true / plain spawn true', 'nsbox API spawn true', 'plain spawn true');
    one('single sandbox, API: nsbox spawn true (loopback) / plain spawn true', 'nsbox API spawn true (loopback)', 'plain spawn true');
    one('single sandbox, API: nsbox spawn node -e 0 / plain spawn node -e 0', 'nsbox API spawn node -e 0', 'plain spawn node -e 0');
    one('single sandbox, CLI: nsbox run -- true / plain spawn true', 'CLI nsbox run -- true', 'plain spawn true');
    one('single sandbox, CLI: nsbox run -- node -e 0 / plain spawn node -e 0', 'CLI nsbox run -- node -e 0', 'plain spawn node -e 0');
    one('single worker: nsbox fork / plain fork, to first IPC reply', 'nsbox fork worker (to first reply)', 'plain fork worker (to first reply)');
    one('single worker: nsbox destroy() / plain kill, teardown', 'nsbox fork worker (teardown)', 'plain fork worker (teardown)');
    lines.push(`namespace cost of one sandbox = median(stage-0 chain true) - median(plain spawn true) = ${msf(chain - plainTrue)} (setpriv, unshare with every namespace, the sh init)`);
    lines.push(`whole cost of nsbox spawn true = median(nsbox API spawn true) - median(plain spawn true) = ${msf(apiTrue - plainTrue)}`);
    lines.push(
      `  of which: stage-0 chain ${msf(chain - plainTrue)}, Node start for the setup stage ${msf(nodeStart - plainTrue)}, ` +
        `require(koffi) ${msf(koffi - nodeStart)}, nsbox inside modules ${msf(execEntry - koffi)}, ` +
        `rest (setup steps, control socket, host side) ${msf(apiTrue - chain - execEntry + plainTrue)}`,
    );
    for (const kind of ['rss', 'pss', 'uss']) {
      const p = median(memoryRuns.plain.map((m) => m[kind]));
      const n = median(memoryRuns.nsbox.map((m) => m[kind]));
      lines.push(`${kind.toUpperCase()} of one idle Node worker tree: nsbox/plain = ${ratio(n, p)} (${(n / 1e6).toFixed(1)} MB / ${(p / 1e6).toFixed(1)} MB), +${((n - p) / 1e6).toFixed(1)} MB per sandbox`);
    }
  }
  if (failures > 0) lines.push(`WARNING: ${failures} run(s) failed; their times are left out (see bench/.work/logs)`);

  // Markdown.
  md.push(`# nsbox benchmark${opts.quick ? ' (quick smoke run: 1 round, not a measurement)' : ''}`, '');
  md.push(`Run: \`${COMMAND}\`, ${info.date}, ${info.duration} in all (${info.waited} of it waiting for other processes on the machine to go quiet before a measurement).`, '');
  md.push('| machine | |', '| --- | --- |');
  md.push(`| nproc | ${info.nproc} |`, `| uname -r | ${info.kernel} |`, `| node | ${info.node} |`, `| CPU | ${info.cpu} |`);
  md.push(`| memory | ${info.memory} |`, `| util-linux | ${info.utilLinux} |`, `| uid | ${info.uid}${info.uid === 0 ? ' (root: no user namespace)' : ''} |`);
  md.push(`| nsbox code measured | ${info.code} (a copy taken at the start, bench/.work/snapshot) |`);
  md.push(`| load average at start / end | ${info.loadStart} / ${info.loadEnd} |`, `| date | ${info.date} |`, '');
  md.push('## Settings', '');
  md.push(`- ${ROUNDS} round(s), variants interleaved round by round (order rotated every round); medians over rounds. Peak RSS: the sum of RSS over the variant's whole process tree, sampled from /proc every ~20 ms; median of the per-round peaks.`);
  md.push(`- Vitest ${info.vitest} (\`node e2e/vitest4/node_modules/vitest/vitest.mjs run --config ...\`), \`globals: true\`, ESM \`.js\` files; its own default maxWorkers (availableParallelism - 1, at least 1 = ${Math.max(os.availableParallelism() - 1, 1)} here) and \`isolate: true\` (a fresh worker per file). Variants: \`forks\`, \`threads\` (stock pools), \`nsbox\` (\`pool: nsbox()\`, default options: each file's sandbox forked from a warm zygote), \`loopback\` (\`nsbox({ network: 'loopback' })\`), \`nsboxfresh\` (\`nsbox({ mode: 'fresh' })\`: each file's sandbox starts Node; the pool boots the next one while a file runs)${vitestVariants.includes(VITEST_NOPREWARM) ? ", \`noprewarm\` (\`nsbox({ mode: 'fresh', prewarm: false })\`: the fresh sandbox's own cost, nothing booted ahead)" : ''}.`);
  md.push(`- Jest ${info.jest} (\`node e2e/suite/node_modules/jest/bin/jest.js --config ...\`), \`.test.cjs\` files. \`default\`: stock defaults (maxWorkers = ${Math.max(os.availableParallelism() - 1, 1)} here, so Jest's in-band heuristic runs every file in the Jest process itself). \`fresh\`: stock with \`workerIdleMemoryLimit: 0\` (jest-worker restarts the worker process after every file, and a memory limit turns the in-band heuristic off). \`nsbox\`: \`preset: 'jest-environment-nsbox'\` (one sandbox per file forked from a warm zygote, maxWorkers slots, the next sandbox forked while a file runs). \`nsboxfresh\`: the same with \`mode: 'fresh'\` (every file's sandbox starts Node).`);
  md.push(`- Suites: trivial = one \`expect(1).toBe(1)\`; realistic = node imports, ${loops} loop iterations (~100 ms of CPU, calibrated at start), a file written, read and removed in os.tmpdir(), one \`execFileSync('true')\`${opts.typescript ? '; typescript (Jest only, --typescript) = a \`.test.ts\` per file importing a typed module of its own under src/, through ts-jest (type-checking, its default) with Babel coverage of src/' : ''}.`);
  md.push(`- Single sandbox: ${REPS} repetitions per round per variant, interleaved one by one, timed (spawn to exit) from a fresh Node process per round (bench/lib/single-round.mjs: a spawn costs more from a bigger process); medians over all repetitions.`, '');

  if (jobs.length > 0) {
    md.push('## Test runners', '');
    md.push('| runner | files | kind | variant | wall (median) | vs baseline | user / system CPU (median, machine) | CPU vs baseline | peak RSS (median) | vs baseline | max processes | other load (cores) | runs ok |');
    md.push('| --- | ---: | --- | --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: |');
    for (const [count, kind] of SUITES) {
      for (const [runner, variants, base] of [['vitest', vitestVariants, 'forks'], ['jest', JEST_VARIANTS, 'default']]) {
        const b = get(runner, count, kind, base);
        if (!b) continue;
        for (const v of variants) {
          const a = get(runner, count, kind, v);
          md.push(`| ${runner} | ${count} | ${kind} | ${v} | ${sec(a.ms)} | ${ratio(a.ms, b.ms)} | ${a.user.toFixed(1)} / ${a.system.toFixed(1)} s | ${ratio(a.user + a.system, b.user + b.system)} | ${mb(a.rss)} | ${ratio(a.rss, b.rss)} | ${a.procs} | ${a.foreign.toFixed(2)} | ${a.n}/${a.n + a.failed} |`);
        }
      }
    }
    md.push('', 'Other load: CPU used meanwhile by processes outside the benchmark (sampled from /proc every 100 ms), in cores; above ~0.1 the machine was shared during the run.');
    md.push('', '<details><summary>Every round (wall s / peak RSS MB / other load in cores)</summary>', '');
    md.push(`| variant | ${Array.from({ length: ROUNDS }, (_, i) => `round ${i + 1}`).join(' | ')} |`, `| --- |${' ---: |'.repeat(ROUNDS)}`);
    for (const job of jobs) md.push(`| ${job.key} | ${job.runs.map((r) => `${(r.ms / 1000).toFixed(1)} / ${(r.peakRss / 1e6).toFixed(0)} / ${r.foreign.toFixed(2)}${r.ok ? '' : ' FAILED'}`).join(' | ')} |`);
    md.push('', '</details>', '');
  }
  if (haveSingle) {
    md.push('## One sandbox alone', '');
    md.push('| variant | median | min | max | runs |', '| --- | ---: | ---: | ---: | ---: |');
    for (const [name, xs] of Object.entries(singleRuns)) md.push(`| ${name} | ${msf(median(xs))} | ${msf(Math.min(...xs))} | ${msf(Math.max(...xs))} | ${xs.length} |`);
    md.push('', `Other load during the single-sandbox rounds (cores): ${singleForeign.map((x) => x.toFixed(2)).join(', ')}.`);
    const m = (which, kind) => `${(median(memoryRuns[which].map((x) => x[kind])) / 1e6).toFixed(1)} MB`;
    md.push('', `Memory of one idle Node worker tree after one IPC round trip (medians of ${memoryRuns.plain.length}; nsbox: unshare, the sh init, and Node with koffi and the setup done):`, '');
    md.push('| | plain fork | nsbox fork |', '| --- | ---: | ---: |');
    md.push(`| RSS (what the runner tables count) | ${m('plain', 'rss')} | ${m('nsbox', 'rss')} |`);
    md.push(`| PSS (shared pages split among the processes that map them) | ${m('plain', 'pss')} | ${m('nsbox', 'pss')} |`);
    md.push(`| USS (private pages: what the machine gets back when it exits) | ${m('plain', 'uss')} | ${m('nsbox', 'uss')} |`, '');
  }
  md.push('## Comparisons', '', '```', ...lines, '```', '');
  fs.mkdirSync(path.dirname(OUT), { recursive: true });
  fs.writeFileSync(OUT, md.join('\n'));
  log(`bench: wrote ${path.relative(ROOT, OUT)} (${info.duration})`);
  console.log(lines.join('\n'));
}

main().catch((error) => {
  console.error(error);
  process.exit(1);
});
