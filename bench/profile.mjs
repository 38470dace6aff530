#!/usr/bin/env node
// Where a sandbox's time and memory go (`node bench/profile.mjs`; run it on a quiet machine, after the
// build). It never touches the real packages: it copies packages/core/dist and packages/jest-env/build
// under bench/.work/profile, adds timing marks to the copies (process start, Node bootstrap, koffi,
// every step of contain(), ready, execve; in Jest's sandboxed child: testWorker loaded, run request,
// setup, test file run, reply), runs them, and writes bench/results/profile.md.
import { execFileSync, fork as forkPlain, spawn as spawnPlain } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { createRequire } from 'node:module';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { childrenOf } from './lib/proc.mjs';
import { calibrateLoop, generateJestSuite } from './lib/suites.mjs';
import { cpuByKind, KINDS, profilesIn } from './lib/cpu-profile.mjs';

const BENCH = path.dirname(fileURLToPath(import.meta.url));
const ROOT = path.dirname(BENCH);
const PROFILE = path.join(BENCH, '.work', 'profile');
const CORE = path.join(PROFILE, 'core');
const JEST_ENV = path.join(PROFILE, 'jest-env');
const MARKS_OUT = path.join(PROFILE, 'marks.jsonl');
const WORKER = path.join(BENCH, 'fixtures/idle-worker.cjs');
const JEST = path.join(ROOT, 'e2e/suite/node_modules/jest/bin/jest.js');
const N = Number(process.argv.find((a) => a.startsWith('--n='))?.slice(4) ?? 20);

const hr = () => process.hrtime.bigint();
const median = (xs) => {
  const s = xs.filter(Number.isFinite).sort((a, b) => a - b);
  return s.length === 0 ? NaN : s.length % 2 ? s[s.length >> 1] : (s[s.length / 2 - 1] + s[s.length / 2]) / 2;
};
const f1 = (x) => (Number.isFinite(x) ? x.toFixed(1) : '?');

// ---------------------------------------------------------------------------------------------------
// The instrumented copies.
const MARKS_MODULE = `"use strict";
// Added by bench/profile.mjs: timing marks on CLOCK_MONOTONIC (the same clock as the host's hrtime).
const fs = require("node:fs");
const os = require("node:os");
const { performance } = require("node:perf_hooks");
const g = globalThis;
if (!g.__nsboxProfile) {
  const startNs = process.hrtime.bigint() - BigInt(Math.round(performance.now() * 1e6));
  const at = (ms) => (startNs + BigInt(Math.round(ms * 1e6))).toString();
  const t = performance.nodeTiming;
  g.__nsboxProfile = [["node: time origin (main() running)", startNs.toString()], ["node: V8 started", at(t.v8Start)], ["node: environment created", at(t.environment)]];
}
exports.mark = (label) => g.__nsboxProfile.push([label, process.hrtime.bigint().toString()]);
exports.flush = (phase) => {
  const out = process.env.NSBOX_PROFILE_OUT;
  if (out) fs.appendFileSync(out, JSON.stringify({ phase, host: os.hostname(), marks: g.__nsboxProfile }) + "\\n");
};
`;

const CPU_PROFILE_START = `if (process.env.NSBOX_PROFILE_CPU) {
  const { Session } = require("node:inspector");
  const session = new Session();
  session.connect();
  session.post("Profiler.enable");
  session.post("Profiler.setSamplingInterval", { interval: 250 });
  session.post("Profiler.start");
  globalThis.__nsboxCpuStop = () => new Promise((resolve) => session.post("Profiler.stop", (error, result) => {
    if (!error) require("node:fs").writeFileSync(require("node:path").join(process.env.NSBOX_PROFILE_CPU, process.pid + "-" + Date.now() + ".cpuprofile"), JSON.stringify(result.profile));
    resolve();
  }));
}`;

const skipped = [];

/** Applies [what, pattern, replacement, optional?] edits; a missing required pattern is an error. */
function patch(file, edits) {
  let text = fs.readFileSync(file, 'utf8');
  for (const [what, from, to, optional] of edits) {
    const next = text.replace(from, to);
    if (next === text && optional) {
      skipped.push(`${path.relative(PROFILE, file)}: ${what}`);
      continue;
    }
    if (next === text) throw new Error(`bench/profile.mjs: cannot instrument ${path.relative(PROFILE, file)} (${what}): the built code changed; update the patterns`);
    text = next;
  }
  fs.writeFileSync(file, text);
}

function linkDir(target, link) {
  fs.mkdirSync(path.dirname(link), { recursive: true });
  fs.symlinkSync(target, link);
}

function makeCopies() {
  fs.rmSync(PROFILE, { recursive: true, force: true });
  fs.mkdirSync(PROFILE, { recursive: true });
  // nsbox core
  fs.cpSync(path.join(ROOT, 'packages/core/dist'), path.join(CORE, 'dist'), { recursive: true });
  fs.copyFileSync(path.join(ROOT, 'packages/core/package.json'), path.join(CORE, 'package.json'));
  linkDir(fs.realpathSync(path.join(ROOT, 'packages/core/node_modules/koffi')), path.join(CORE, 'node_modules/koffi'));
  const inside = path.join(CORE, 'dist/inside');
  fs.writeFileSync(path.join(inside, 'marks.cjs'), MARKS_MODULE);
  const M = 'require("./marks.cjs")';
  patch(path.join(inside, 'exec.cjs'), [
    ['entry', /^"use strict";\n/, `"use strict";\n${M}.mark("nsbox: exec.cjs entry running");\n`],
    ['execve', /(\n\s*)(\(0, ffi_cjs_1\.sys\)\(\)\.execve\()/, `$1${M}.mark("nsbox: execve"); ${M}.flush("exec");$1$2`],
  ]);
  patch(path.join(inside, 'preload.cjs'), [['entry', /^"use strict";\n/, `"use strict";\n${M}.mark("nsbox: preload entry running");\n`]]);
  patch(path.join(inside, 'ffi.cjs'), [['koffi', /const koffi = require\("koffi"\);/, `${M}.mark("nsbox: inside modules loaded"); const koffi = require("koffi"); ${M}.mark("nsbox: require(koffi)");`]]);
  patch(path.join(inside, 'enter.cjs'), [
    ['config', /(\n\s*)(\(0, contain_cjs_1\.contain\)\(config\);)/, `$1${M}.mark("nsbox: config parsed");$1$2`],
    ['ready', /(\n\s*)(tell\(`ready [^\n]*;)/, `$1$2 ${M}.mark("nsbox: ready sent"); ${M}.flush("ready");`],
  ]);
  // Every statement of contain(): a mark after it, named after the step it calls.
  const containFile = path.join(inside, 'contain.cjs');
  const text = fs.readFileSync(containFile, 'utf8');
  const body = /function contain\(config\) \{\n([\s\S]*?)\n\}/.exec(text);
  if (!body) throw new Error('bench/profile.mjs: cannot find contain() in contain.cjs');
  const steps = body[1].split('\n').map((line) => {
    const step = /\(0, \w+\.(\w+)\)/.exec(line)?.[1];
    return step && line.trim().endsWith(';') ? `${line} ${M}.mark("setup: ${step}");` : line;
  });
  fs.writeFileSync(containFile, text.replace(body[1], steps.join('\n')));

  // jest-environment-nsbox: its build, its dependencies, and nsbox pointing at the copy above.
  fs.cpSync(path.join(ROOT, 'packages/jest-env/build'), path.join(JEST_ENV, 'build'), { recursive: true });
  for (const f of ['package.json', 'jest-preset.js']) fs.copyFileSync(path.join(ROOT, 'packages/jest-env', f), path.join(JEST_ENV, f));
  const realModules = path.join(ROOT, 'packages/jest-env/node_modules');
  for (const name of fs.readdirSync(realModules)) {
    if (name === 'nsbox' || name === '.bin') continue;
    linkDir(fs.realpathSync(path.join(realModules, name)), path.join(JEST_ENV, 'node_modules', name));
  }
  linkDir(CORE, path.join(JEST_ENV, 'node_modules/nsbox'));
  const J = `require(${JSON.stringify(path.join(inside, 'marks.cjs'))})`;
  patch(path.join(JEST_ENV, 'build/child.js'), [
    ['entry', /^"use strict";\n/, `"use strict";\n${J}.mark("jest child: module running");\n`],
    ['prepare request', /(function setup\(data\) \{)/, `$1 ${J}.mark("jest child: prepare request received");`],
    ['testWorker', /(testWorker = require\([^\n]*;)/, `$1 ${J}.mark("jest child: testWorker.js required"); ${J}.flush("boot");`],
    ['setup', /(await testWorker\.setup\([^\n]*;)/, `$1 ${J}.mark("jest child: testWorker.setup() done");`, true],
    ['prepare done', /(prepared = prepare\(data\))/, `$1.then(() => ${J}.mark("jest child: prepared (resolver, Jest modules)"))`, true],
    ['request', /(async function worker\(request\) \{)/, `$1 ${J}.mark("jest child: run request received");`],
    ['worker', /(const result = await testWorker\.worker\([^\n]*;)/, `$1 ${J}.mark("jest child: test file run (testWorker.worker())");`],
    ['reply', /(\n\s*)(return result;\n\})/, `$1${J}.mark("jest child: result sent"); ${J}.flush("done");$1$2`],
    // With NSBOX_PROFILE_CPU=DIR, a V8 CPU profile of the child from its first line to its result.
    ['cpu profile start', /^"use strict";\n/, `"use strict";\n${CPU_PROFILE_START}\n`],
    ['cpu profile stop', /(\n\s*)(return result;\n\})/, '$1await globalThis.__nsboxCpuStop?.();$1$2'],
  ]);
}

function readMarks() {
  if (!fs.existsSync(MARKS_OUT)) return [];
  const lines = fs.readFileSync(MARKS_OUT, 'utf8').split('\n').filter(Boolean).map((l) => JSON.parse(l));
  fs.rmSync(MARKS_OUT);
  return lines;
}

/** Segments between consecutive marks, medians over runs, in the order of the last (steady-state) run. */
function segments(runs) {
  const order = runs.at(-1).map(([label]) => label);
  const rows = [];
  for (let i = 1; i < order.length; i++) {
    const durations = runs.map((marks) => {
      const a = marks.find(([l]) => l === order[i - 1]);
      const b = marks.find(([l]) => l === order[i]);
      return a && b ? Number(BigInt(b[1]) - BigInt(a[1])) / 1e6 : NaN;
    });
    rows.push([`${order[i - 1]} → ${order[i]}`, median(durations)]);
  }
  const total = median(runs.map((m) => Number(BigInt(m.at(-1)[1]) - BigInt(m[0][1])) / 1e6));
  return { rows, total };
}

// ---------------------------------------------------------------------------------------------------
async function sandboxTimelines(nsbox) {
  process.env.NSBOX_PROFILE_OUT = MARKS_OUT;
  const result = {};
  const cases = {
    "spawn('true')": { start: () => nsbox.spawn('true', [], { stdio: 'ignore' }), reply: false },
    "spawn('true'), network loopback": { start: () => nsbox.spawn('true', [], { stdio: 'ignore', network: 'loopback' }), reply: false },
    'fork(idle worker) to first IPC reply, then destroy()': { start: () => nsbox.fork(WORKER, [], { stdio: ['ignore', 'ignore', 'ignore', 'ipc'] }), reply: true },
  };
  for (const [name, c] of Object.entries(cases)) {
    const runs = [];
    for (let i = 0; i < N + 2; i++) {
      const host = [['host: spawn()/fork() called', hr().toString()]];
      const child = c.start();
      child.once('spawn', () => host.push(['host: spawn event', hr().toString()]));
      child.ready.then(() => host.push(['host: ready received', hr().toString()]));
      if (c.reply) {
        await new Promise((resolve) => {
          child.once('message', resolve);
          child.send('ping');
        });
        host.push(['host: first IPC reply', hr().toString()]);
        await child.destroy();
        host.push(['host: destroy() resolved', hr().toString()]);
      } else {
        await child.exited;
        host.push(['host: exited resolved', hr().toString()]);
      }
      const inside = readMarks().at(-1)?.marks ?? [];
      if (i >= 2) runs.push([...host, ...inside].sort((a, b) => (BigInt(a[1]) < BigInt(b[1]) ? -1 : 1)));
    }
    result[name] = segments(runs);
  }
  delete process.env.NSBOX_PROFILE_OUT;
  return result;
}

async function timeCommand(file, args, n = N) {
  const xs = [];
  for (let i = 0; i < n + 2; i++) {
    const t = hr();
    await new Promise((resolve, reject) => {
      const c = spawnPlain(file, args, { stdio: 'ignore' });
      c.once('error', reject);
      c.once('exit', resolve);
    });
    if (i >= 2) xs.push(Number(hr() - t) / 1e6);
  }
  return median(xs);
}

function statusOf(pid) {
  const text = fs.readFileSync(`/proc/${pid}/status`, 'utf8');
  const kb = (k) => Number(new RegExp(`^${k}:\\s+(\\d+)`, 'm').exec(text)?.[1] ?? 0) / 1024;
  return { comm: fs.readFileSync(`/proc/${pid}/comm`, 'utf8').trim(), rss: kb('VmRSS'), anon: kb('RssAnon'), file: kb('RssFile'), shmem: kb('RssShmem') };
}

function tree(pid) {
  const out = [];
  const walk = (p, depth) => {
    out.push({ pid: p, depth, ...statusOf(p) });
    for (const c of childrenOf(p)) walk(c, depth + 1);
  };
  walk(pid, 0);
  return out;
}

async function workerTrees(realNsbox) {
  const koffi = createRequire(path.join(ROOT, 'packages/core/dist/index.js')).resolve('koffi');
  const preload = path.join(ROOT, 'packages/core/dist/inside/preload.cjs');
  const stdio = ['ignore', 'ignore', 'ignore', 'ipc'];
  const cases = {
    'plain fork': () => forkPlain(WORKER, [], { stdio }),
    'plain fork, --require koffi': () => forkPlain(WORKER, [], { stdio, execArgv: ['--require', koffi] }),
    'plain fork, --require nsbox preload (no sandbox config: modules and koffi loaded, nothing done)': () => forkPlain(WORKER, [], { stdio, execArgv: ['--require', preload] }),
    'nsbox fork': () => realNsbox.fork(WORKER, [], { stdio }),
  };
  const out = {};
  for (const [name, start] of Object.entries(cases)) {
    const samples = [];
    for (let i = 0; i < 5; i++) {
      const child = start();
      await new Promise((resolve) => {
        child.once('message', resolve);
        child.send('ping');
      });
      await new Promise((r) => setTimeout(r, 150));
      samples.push(tree(child.pid));
      if (child.destroy) await child.destroy();
      else {
        const gone = new Promise((r) => child.once('exit', r));
        child.kill('SIGKILL');
        await gone;
      }
    }
    // the median sample by total RSS
    samples.sort((a, b) => a.reduce((s, p) => s + p.rss, 0) - b.reduce((s, p) => s + p.rss, 0));
    out[name] = samples[2];
  }
  return out;
}

async function jestTimeline() {
  const work = path.join(PROFILE, 'suites');
  const loops = calibrateLoop(100);
  const suite = generateJestSuite(work, 20, 'realistic', loops);
  const config = path.join(suite.dir, 'jest.profile.config.cjs');
  fs.writeFileSync(
    config,
    `module.exports = ${JSON.stringify({
      rootDir: suite.dir,
      roots: ['<rootDir>/tests'],
      testMatch: ['**/*.test.cjs'],
      cacheDirectory: path.join(work, 'jest-cache'),
      runner: path.join(JEST_ENV, 'build/runner.js'),
      testEnvironment: path.join(JEST_ENV, 'build/environment.js'),
    }, null, 2)};\n`,
  );
  const env = { ...process.env, NSBOX_PROFILE_OUT: MARKS_OUT };
  const run = (cfg) => {
    const t = hr();
    execFileSync(process.execPath, [JEST, '--config', cfg], { cwd: suite.dir, env, stdio: 'ignore' });
    return Number(hr() - t) / 1e6;
  };
  run(config); // warm the cache
  readMarks();
  const wall = run(config);
  const lines = readMarks();
  const byHost = new Map();
  for (const l of lines) byHost.set(l.host, l.marks); // the 'done' flush holds every mark
  const files = [...byHost.values()]
    .filter((m) => m.some(([l]) => l === 'jest child: result sent'))
    .map((m) => [...m].sort((a, b) => (BigInt(a[1]) < BigInt(b[1]) ? -1 : 1)));
  const stock = {};
  for (const variant of ['default', 'fresh']) {
    run(suite.configs[variant]);
    stock[variant] = run(suite.configs[variant]);
  }
  return { wall, files: files.length, count: 20, segments: segments(files), stock, loops, cpu: jestCpu(work, suite, config, env, loops) };
}

/**
 * CPU per file by kind of work: each sandboxed child's profile (one file each), against stock Jest's
 * in-band process, where a file's share is the difference between a 40-file and a 20-file run (so
 * Jest's own start-up, paid once per run, drops out).
 */
function jestCpu(work, suite, config, env, loops) {
  const dir = (name) => {
    const d = path.join(work, name);
    fs.rmSync(d, { recursive: true, force: true });
    fs.mkdirSync(d, { recursive: true });
    return d;
  };
  const sandboxed = dir('cpu-nsbox');
  execFileSync(process.execPath, [JEST, '--config', config], { cwd: suite.dir, env: { ...env, NSBOX_PROFILE_CPU: sandboxed }, stdio: 'ignore' });
  const children = profilesIn(sandboxed);
  const nsbox = cpuByKind(children);
  const stockRun = (s, name) => {
    const d = dir(name);
    execFileSync(process.execPath, [`--cpu-prof`, `--cpu-prof-dir=${d}`, JEST, '--config', s.configs.default], { cwd: s.dir, env, stdio: 'ignore' });
    return cpuByKind(profilesIn(d));
  };
  const big = generateJestSuite(work, 40, 'realistic', loops);
  stockRun(suite, 'cpu-stock-20'); // warms the transform cache of the 20-file suite
  const at20 = stockRun(suite, 'cpu-stock-20');
  stockRun(big, 'cpu-stock-40');
  const at40 = stockRun(big, 'cpu-stock-40');
  const rows = KINDS.map((kind) => [kind, nsbox[kind] / children.length, (at40[kind] - at20[kind]) / 20]);
  return { rows, files: children.length };
}

// ---------------------------------------------------------------------------------------------------
async function main() {
  makeCopies();
  const copy = await import(pathToFileURL(path.join(CORE, 'dist/index.js')).href);
  const real = await import(pathToFileURL(path.join(ROOT, 'packages/core/dist/index.js')).href);
  const md = ['# Where one sandbox\'s time and memory go', ''];
  md.push(`\`node bench/profile.mjs\`, ${new Date().toISOString()}; ${os.availableParallelism()} cores, ${os.cpus()[0]?.model}, Linux ${os.release()}, Node ${process.version}, uid ${process.getuid()}.`);
  const git = (args) => {
    try {
      return execFileSync('git', ['--no-optional-locks', ...args], { cwd: ROOT, encoding: 'utf8', stdio: ['ignore', 'pipe', 'ignore'] }).trim();
    } catch {
      return '?';
    }
  };
  md.push(`Code: ${git(['rev-parse', '--short', 'HEAD'])}${git(['status', '--porcelain', '--', 'packages']) ? ' + uncommitted changes in packages/' : ''}.`);
  md.push(`Timings are medians of ${N} runs, from marks added to a copy of the built code (bench/.work/profile), on one CLOCK_MONOTONIC shared by host and sandbox. Load average at start: ${os.loadavg().map((x) => x.toFixed(2)).join(' ')}.`, '');

  const timelines = await sandboxTimelines(copy);
  for (const [name, { rows, total }] of Object.entries(timelines)) {
    md.push(`## ${name}: ${f1(total)} ms in all`, '', '| segment | ms |', '| --- | ---: |');
    for (const [label, ms] of rows) md.push(`| ${label} | ${f1(ms)} |`);
    md.push('');
  }

  const koffi = createRequire(path.join(ROOT, 'packages/core/dist/index.js')).resolve('koffi');
  const tw = path.join(fs.realpathSync(path.join(ROOT, 'packages/jest-env/node_modules/jest-runner')), 'build/testWorker.js');
  const flags = ['--mount', '--propagation', 'private', '--uts', '--ipc', '--pid', '--kill-child'];
  const cmds = {
    'spawn true': ['true', []],
    'setpriv --pdeathsig KILL -- true': ['setpriv', ['--pdeathsig', 'KILL', '--', 'true']],
    'setpriv + unshare (nsbox flags) + sh -c true': ['setpriv', ['--pdeathsig', 'KILL', '--', 'unshare', ...flags, '--', 'sh', '-c', 'true']],
    'setpriv + unshare (nsbox flags) --net + sh -c true': ['setpriv', ['--pdeathsig', 'KILL', '--', 'unshare', ...flags.slice(0, -1), '--net', '--kill-child', '--', 'sh', '-c', 'true']],
    'node -e 0': [process.execPath, ['-e', '0']],
    'node -e require(koffi)': [process.execPath, ['-e', `require(${JSON.stringify(koffi)})`]],
    "node -e require(jest-runner's testWorker.js)": [process.execPath, ['-e', `require(${JSON.stringify(tw)})`]],
  };
  md.push('## Plain commands (spawn to exit)', '', '| command | ms |', '| --- | ---: |');
  for (const [name, [file, args]] of Object.entries(cmds)) md.push(`| ${name} | ${f1(await timeCommand(file, args))} |`);
  md.push('');

  // Root (no user namespace) against an unprivileged caller (user namespace, capabilities dropped).
  md.push('## Root against an unprivileged caller (nsbox API spawn true, from a Node process run as that user)', '', '| caller | plain spawn true (ms) | nsbox spawn true (ms) | namespace cost (ms) |', '| --- | ---: | ---: | ---: |');
  const timeSpawn = path.join(BENCH, 'fixtures/time-spawn.mjs');
  const coreIndex = path.join(ROOT, 'packages/core/dist/index.js');
  const callers = { [`uid ${process.getuid()}`]: [process.execPath, [timeSpawn, coreIndex, String(N)]] };
  if (process.getuid() === 0) callers['uid 65534 (setpriv --reuid=65534 --regid=65534 --clear-groups)'] = ['setpriv', ['--reuid=65534', '--regid=65534', '--clear-groups', '--', process.execPath, timeSpawn, coreIndex, String(N)]];
  for (const [name, [file, args]] of Object.entries(callers)) {
    try {
      const r = JSON.parse(execFileSync(file, args, { encoding: 'utf8', cwd: '/', stdio: ['ignore', 'pipe', 'pipe'] }));
      md.push(`| ${name} | ${f1(r.plain)} | ${f1(r.nsbox)} | ${f1(r.nsbox - r.plain)} |`);
    } catch (error) {
      md.push(`| ${name} | could not run: ${String(error.stderr ?? error.message).trim().split('\n').at(-1)} | | |`);
    }
  }
  md.push('');

  const trees = await workerTrees(real);
  md.push('## Memory of one idle Node worker after one IPC round trip (MB, /proc/PID/status)', '');
  md.push('| case | process | VmRSS | RssAnon | RssFile | RssShmem |', '| --- | --- | ---: | ---: | ---: | ---: |');
  for (const [name, procs] of Object.entries(trees)) {
    for (const p of procs) md.push(`| ${name} | ${'  '.repeat(p.depth)}${p.comm} | ${f1(p.rss)} | ${f1(p.anon)} | ${f1(p.file)} | ${f1(p.shmem)} |`);
    const sum = (k) => procs.reduce((s, p) => s + p[k], 0);
    md.push(`| ${name} | **total** | **${f1(sum('rss'))}** | ${f1(sum('anon'))} | ${f1(sum('file'))} | ${f1(sum('shmem'))} |`);
  }
  md.push('');

  const jest = await jestTimeline();
  md.push(`## Jest 30, one sandbox per file: 20 realistic files (~100 ms CPU each, ${jest.loops} loop iterations), default maxWorkers`, '');
  md.push(`Whole run: nsbox ${f1(jest.wall / 1000)} s, stock default (in band) ${f1(jest.stock.default / 1000)} s, stock fresh process per file ${f1(jest.stock.fresh / 1000)} s (second runs, warm cache). Marks from ${jest.files} of ${jest.count} files:`, '');
  md.push('| segment (inside one file\'s sandbox unless marked host) | ms |', '| --- | ---: |');
  for (const [label, ms] of jest.segments.rows) md.push(`| ${label} | ${f1(ms)} |`);
  md.push('');
  md.push('Until "run request received" the sandbox boots (and prepares) while the previous file runs; from there on, the file runs in a fresh process, where Jest builds its runtime, environment and test framework again for every file.');
  md.push('', `### CPU per file, by kind of work (ms; V8 CPU profiles sampled every 0.25 ms)`, '');
  md.push(`nsbox: the profile of each file's sandboxed Jest child, from its first line to its result (${jest.cpu.files} files), averaged; it includes what the child does ahead of the file (loading Jest's modules), which runs on the other core while the previous file runs. Stock: Jest's in-band process, (CPU of a 40-file run - CPU of a 20-file run) / 20.`, '');
  md.push('| kind | nsbox child | stock Jest, in band | difference |', '| --- | ---: | ---: | ---: |');
  const total = [0, 0];
  for (const [kind, a, b] of jest.cpu.rows) {
    total[0] += a;
    total[1] += b;
    md.push(`| ${kind} | ${f1(a)} | ${f1(b)} | ${f1(a - b)} |`);
  }
  md.push(`| **total** | **${f1(total[0])}** | **${f1(total[1])}** | **${f1(total[0] - total[1])}** |`);
  if (skipped.length > 0) md.push('', `Marks not placed (the built code has no such step): ${skipped.join('; ')}.`);

  fs.mkdirSync(path.join(BENCH, 'results'), { recursive: true });
  fs.writeFileSync(path.join(BENCH, 'results/profile.md'), `${md.join('\n')}\n`);
  console.log(md.join('\n'));
  fs.rmSync(PROFILE, { recursive: true, force: true });
}

main().catch((error) => {
  console.error(error);
  process.exit(1);
});
