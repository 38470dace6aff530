// The e2e test cases, written once for both runners: they use the runner's globals (test, expect).
const { spawnSync } = require('node:child_process');
const { record, sandboxView, holdSharedPort } = require('./facts.cjs');
const { add } = require('./math.cjs');

const GROUP = ['a', 'b', 'c'];

function isolationCase(name) {
  test(`file ${name} sees only its own sandbox`, async () => {
    const view = sandboxView(name);
    const portSharedByAll = await holdSharedPort(name, GROUP);
    record(`isolation-${name}`, { ...view, portSharedByAll });
    expect(view.ppid).toBe(1);
    expect(view.tmpAfter).toContain(`${name}-was-here`);
  }, 60_000);
}

function daemonCase() {
  test('a file that leaves a daemon behind still passes; nsbox reports and kills the daemon', () => {
    spawnSync('sh', ['-c', '(setsid sleep 3201 &); until pgrep -xf "sleep 3201" >/dev/null; do sleep 0.01; done'], { stdio: 'ignore' });
    record('daemon', { started: true });
  });
}

function snapshotCase() {
  test('snapshots and coverage work from inside the sandbox', () => {
    expect({ sum: add(2, 3), where: 'sandbox' }).toMatchSnapshot();
  });
}

/** Fails on purpose, only when the outer test asks for it: its output must point at this file. */
function failingCase() {
  const run = process.env.NSBOX_E2E_FAIL === '1' ? test : test.skip;
  run('a failure keeps its code frame and stack', () => {
    const answer = 41;
    expect(answer).toBe(42);
  });
}

module.exports = { isolationCase, daemonCase, snapshotCase, failingCase };

/** Records which sandbox (hostname, pid) ran this file; with `slowMs` it then waits, to be killed. */
function whereCase(name, slowMs = 0) {
  test(`file ${name} reports where it runs`, async () => {
    record(`where-${name}`, { hostname: require('node:os').hostname(), pid: process.pid });
    if (slowMs) await new Promise((r) => setTimeout(r, slowMs));
  }, slowMs + 5000);
}

module.exports.whereCase = whereCase;

/**
 * Holds a file in its /tmp and a port on its loopback until the outer test, which looks inside with
 * `nsbox ps` and `nsbox exec`, writes `release-<name>` into the results; then fails if asked to.
 */
function inspectCase(name) {
  test(`file ${name} waits to be looked at`, async () => {
    const fs = require('node:fs');
    const path = require('node:path');
    fs.writeFileSync(`/tmp/inspect-${name}`, `${name} was here\n`);
    const server = require('node:net').createServer((c) => c.end('pong'));
    await new Promise((resolve) => server.listen(0, '127.0.0.1', resolve));
    server.unref();
    record(`inspect-${name}`, { hostname: require('node:os').hostname(), pid: process.pid, port: server.address().port });
    const release = path.join(process.env.NSBOX_E2E_RESULTS, `release-${name}`);
    while (!fs.existsSync(release)) await new Promise((r) => setTimeout(r, 50));
    expect(process.env.NSBOX_E2E_FAIL === '1' ? 'failed on purpose' : 'passed').toBe('passed');
  }, 120_000);
}

module.exports.inspectCase = inspectCase;
