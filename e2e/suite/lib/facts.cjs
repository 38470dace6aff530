// What a test file sees of its sandbox, written where the outer e2e test reads it.
const fs = require('node:fs');
const os = require('node:os');
const net = require('node:net');
const path = require('node:path');
const { execFileSync } = require('node:child_process');

const RESULTS = process.env.NSBOX_E2E_RESULTS;

function record(name, facts) {
  fs.mkdirSync(RESULTS, { recursive: true });
  fs.writeFileSync(path.join(RESULTS, `${name}.json`), JSON.stringify(facts));
}

function sandboxView(name) {
  const tmpBefore = fs.readdirSync('/tmp');
  fs.writeFileSync(`/tmp/${name}-was-here`, name);
  execFileSync('ipcmk', ['-Q']);
  return {
    pid: process.pid,
    ppid: process.ppid,
    hostname: os.hostname(),
    resolved: execFileSync('getent', ['hosts', os.hostname()], { encoding: 'utf8' }).trim(),
    tmpBefore,
    tmpAfter: fs.readdirSync('/tmp'),
    processes: fs.readdirSync('/proc').filter((e) => /^\d+$/.test(e)).length,
    queues: execFileSync('ipcs', ['-q'], { encoding: 'utf8' }).split('\n').filter((l) => l.startsWith('0x')).length,
    uid: process.getuid(),
    vitestPoolId: process.env.VITEST_POOL_ID,
    jestWorkerId: process.env.JEST_WORKER_ID,
    // Which mode ran the file: the init of a fresh sandbox is sh; a zygote's fork is a copy of the (node) zygote.
    forkedFromZygote: fs.readFileSync('/proc/1/comm', 'utf8').trim() !== 'sh',
  };
}

/** Binds the shared port, then holds it until every file of the group has bound it too. */
async function holdSharedPort(name, group, port = 45123) {
  fs.mkdirSync(RESULTS, { recursive: true });
  const server = net.createServer((s) => s.end(name));
  await new Promise((resolve, reject) => server.once('error', reject).listen(port, '127.0.0.1', resolve));
  fs.writeFileSync(path.join(RESULTS, `bound-${name}`), '');
  // A safety net only: the files run side by side, and on a busy machine one may start long after the others.
  const deadline = Date.now() + 45_000;
  const allBound = () => group.every((other) => fs.existsSync(path.join(RESULTS, `bound-${other}`)));
  while (!allBound() && Date.now() < deadline) await new Promise((r) => setTimeout(r, 50));
  const together = allBound();
  await new Promise((r) => server.close(r));
  return together;
}

module.exports = { record, sandboxView, holdSharedPort };
