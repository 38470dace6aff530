// One sandbox forked from a warm zygote against one started by nsbox's fork() (stage 0, a fresh Node),
// interleaved round by round: time from the request to `ready` (setup done) and to the first IPC
// reply, and the memory of the sandbox's Node process (USS from /proc/PID/smaps_rollup).
//   node bench/zygote.mjs [rounds=20] [--prepare MODULE]   (MODULE is loaded by the zygote, and by each plain fork)
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fork, startZygote } from '../packages/core/dist/index.js';

const args = process.argv.slice(2);
const rounds = Number(args.find((a) => /^\d+$/.test(a)) ?? 20);
const prepareIndex = args.indexOf('--prepare');
const prepare = prepareIndex >= 0 ? path.resolve(args[prepareIndex + 1]) : undefined;

const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'nsbox-zygote-bench-'));
const worker = path.join(dir, 'zygote-worker.cjs');
fs.writeFileSync(
  worker,
  `${prepare ? `require(${JSON.stringify(prepare)});\n` : ''}process.on('message', (m) => { if (m === 'bye') process.disconnect(); else process.send(process.pid); });\n`,
);

const hr = () => process.hrtime.bigint();
const ms = (t) => Number(hr() - t) / 1e6;
const median = (xs) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)];

function uss(pid) {
  const text = fs.readFileSync(`/proc/${pid}/smaps_rollup`, 'utf8');
  const kb = (name) => Number(new RegExp(`^${name}:\\s+(\\d+) kB`, 'm').exec(text)?.[1] ?? 0);
  return { uss: kb('Private_Clean') + kb('Private_Dirty'), pss: kb('Pss'), rss: kb('Rss') };
}

async function measure(start, pidOf) {
  const t = hr();
  const child = start();
  await child.ready;
  const ready = ms(t);
  const reply = new Promise((resolve) => child.once('message', resolve));
  child.send('ping');
  const innerPid = await reply;
  const replied = ms(t);
  const memory = uss(pidOf(child));
  child.send('bye');
  const exit = await child.exited;
  if (exit.code !== 0) throw new Error(`worker exit ${JSON.stringify(exit)}`);
  return { ready, replied, memory, innerPid };
}

const zygoteStart = hr();
const zygote = startZygote({ prepare: prepare ? [prepare] : [] });
await zygote.ready;
const zygoteReady = ms(zygoteStart);
const results = { zygote: [], fork: [] };
try {
  for (let round = 0; round < rounds; round++) {
    results.zygote.push(await measure(() => zygote.fork(worker, [], { silent: true }), (c) => c.pid));
    // nsbox's fork(): the ChildProcess is the stage-0 chain; its Node is the init's oldest child.
    results.fork.push(
      await measure(
        () => fork(worker, [], { silent: true }),
        (c) => c.processes().find((p) => p.command.includes('zygote-worker'))?.hostPid ?? c.pid,
      ),
    );
  }
} finally {
  await zygote.close();
  fs.rmSync(dir, { recursive: true, force: true });
}

const summary = (list) => ({
  readyMs: median(list.map((r) => r.ready)).toFixed(1),
  firstReplyMs: median(list.map((r) => r.replied)).toFixed(1),
  ussMiB: (median(list.map((r) => r.memory.uss)) / 1024).toFixed(1),
  pssMiB: (median(list.map((r) => r.memory.pss)) / 1024).toFixed(1),
  rssMiB: (median(list.map((r) => r.memory.rss)) / 1024).toFixed(1),
});
console.log(JSON.stringify({ node: process.version, rounds, prepare: prepare ?? null, zygoteReadyMs: zygoteReady.toFixed(1), zygote: summary(results.zygote), fork: summary(results.fork) }, null, 2));
