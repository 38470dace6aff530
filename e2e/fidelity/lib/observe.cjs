// What a test can observe about its own process, recorded where the outer e2e test compares a stock
// worker's record with a sandboxed one's.
const fs = require('node:fs');
const path = require('node:path');
const v8 = require('node:v8');
const { execFileSync, fork } = require('node:child_process');

const SUBCOMMAND = path.join(__dirname, 'subcommand.cjs');

function openFds() {
  return fs.readdirSync('/proc/self/fd').sort((a, b) => a - b).map((fd) => {
    try {
      return `${fd}:${fs.readlinkSync(`/proc/self/fd/${fd}`).replace(/\[\d+\]$/, '')}`;
    } catch {
      return `${fd}:(the listing itself)`;
    }
  });
}

/** The child's report, with its environment reduced to whether it equals this process's. */
function inheritance({ env, ...report }) {
  const sorted = (e) => JSON.stringify(Object.entries(e).sort(([a], [b]) => (a < b ? -1 : 1)));
  return { ...report, envAsParent: sorted(env) === sorted(process.env) };
}

/** What a Node process the test starts gets from it: spawned with the parent's execArgv, and forked. */
function children() {
  const spawned = inheritance(JSON.parse(execFileSync(process.execPath, [...process.execArgv, SUBCOMMAND, 'spawned', '--flag'], { encoding: 'utf8' })));
  return new Promise((resolve, reject) => {
    const child = fork(SUBCOMMAND, ['forked', '--flag'], { stdio: ['ignore', 'ignore', 'inherit', 'ipc'] });
    let forked;
    child.once('message', (message) => (forked = inheritance(message)));
    child.once('exit', () => resolve({ spawned, forked }));
    child.once('error', reject);
  });
}

async function observe() {
  return {
    argv: process.argv,
    execArgv: process.execArgv,
    env: process.env,
    title: process.title,
    cwd: process.cwd(),
    fds: openFds(),
    heapLimitMb: Math.round(v8.getHeapStatistics().heap_size_limit / 2 ** 20),
    // Set through NODE_OPTIONS by the outer test.
    httpMaxHeaderSize: require('node:http').maxHeaderSize,
    children: await children(),
  };
}

async function record(name) {
  const facts = await observe();
  fs.mkdirSync(process.env.NSBOX_E2E_RESULTS, { recursive: true });
  fs.writeFileSync(path.join(process.env.NSBOX_E2E_RESULTS, `${name}.json`), JSON.stringify(facts, null, 2));
  return facts;
}

module.exports = { observe, record };
