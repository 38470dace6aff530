// One sandbox alone, measured from this process (so no CLI start-up is counted unless asked for), and
// the pieces it is made of, so that the difference can be attributed.
import { spawn as spawnPlain, fork as forkPlain } from 'node:child_process';
import { createRequire } from 'node:module';
import path from 'node:path';
import { pathToFileURL } from 'node:url';
import { treeMemory } from './proc.mjs';

const hr = () => process.hrtime.bigint();
const sinceMs = (t) => Number(hr() - t) / 1e6;

function waitExit(child, expected = 0) {
  return new Promise((resolve, reject) => {
    child.once('error', reject);
    child.once('exit', (code, signal) => {
      if (code === expected) resolve();
      else reject(new Error(`${child.spawnargs.join(' ')}: exit ${code ?? signal}, expected ${expected}`));
    });
  });
}

function firstReply(child) {
  return new Promise((resolve, reject) => {
    child.once('error', reject);
    child.once('exit', (code, signal) => reject(new Error(`worker exited (${code ?? signal}) before replying`)));
    child.once('message', resolve);
    child.send('ping');
  });
}

/** `core`: the nsbox package directory (the benchmark's snapshot of packages/core). */
export async function loadSingle(core, worker) {
  const coreDist = path.join(core, 'dist');
  const nsbox = await import(pathToFileURL(path.join(coreDist, 'index.js')).href);
  let flags = ['--mount', '--propagation', 'private', '--uts', '--ipc', '--pid', '--kill-child'];
  let netFlags = [...flags.slice(0, -1), '--net', '--kill-child'];
  try {
    const stage0 = await import(pathToFileURL(path.join(coreDist, 'stage0.js')).href);
    flags = stage0.namespaceFlags({ network: 'host' }, 'caller');
    netFlags = stage0.namespaceFlags({ network: 'loopback' }, 'caller');
  } catch {
    // keep the flags above (those of util-linux's unshare that nsbox uses as root)
  }
  const koffi = createRequire(path.join(coreDist, 'index.js')).resolve('koffi');
  const execEntry = path.join(coreDist, 'inside', 'exec.cjs');
  const cli = path.join(coreDist, 'cli.js');
  const node = process.execPath;
  const ignore = { stdio: 'ignore' };
  // The init's shape (background job, wait), without the control socket.
  const chain = (f) => ['--pdeathsig', 'KILL', '--', 'unshare', ...f, '--', 'sh', '-c', '"$@" & wait $!', 'nsbox-init', 'true'];
  const env = { ...process.env };
  delete env.NSBOX_SANDBOX;

  /** name -> async () => ms for one run. */
  const variants = {
    'plain spawn true': async () => {
      const t = hr();
      await waitExit(spawnPlain('true', [], ignore));
      return sinceMs(t);
    },
    'stage-0 chain true': async () => {
      const t = hr();
      await waitExit(spawnPlain('setpriv', chain(flags), ignore));
      return sinceMs(t);
    },
    'stage-0 chain --net true': async () => {
      const t = hr();
      await waitExit(spawnPlain('setpriv', chain(netFlags), ignore));
      return sinceMs(t);
    },
    'nsbox API spawn true': async () => {
      const t = hr();
      const { code } = await nsbox.spawn('true', [], ignore).exited;
      if (code !== 0) throw new Error(`nsbox spawn true: exit ${code}`);
      return sinceMs(t);
    },
    'nsbox API spawn true (loopback)': async () => {
      const t = hr();
      const { code } = await nsbox.spawn('true', [], { ...ignore, network: 'loopback' }).exited;
      if (code !== 0) throw new Error(`nsbox spawn true loopback: exit ${code}`);
      return sinceMs(t);
    },
    'plain spawn node -e 0': async () => {
      const t = hr();
      await waitExit(spawnPlain(node, ['-e', '0'], ignore));
      return sinceMs(t);
    },
    'plain node -e require(koffi)': async () => {
      const t = hr();
      await waitExit(spawnPlain(node, ['-e', `require(${JSON.stringify(koffi)})`], ignore));
      return sinceMs(t);
    },
    // nsbox's exec entry without a sandbox config: Node, koffi and every inside module loaded, then exit 125.
    'plain node exec.cjs (no sandbox)': async () => {
      const t = hr();
      await waitExit(spawnPlain(node, [execEntry, '--', 'true'], { ...ignore, env }), 125);
      return sinceMs(t);
    },
    'nsbox API spawn node -e 0': async () => {
      const t = hr();
      const { code } = await nsbox.spawn(node, ['-e', '0'], ignore).exited;
      if (code !== 0) throw new Error(`nsbox spawn node: exit ${code}`);
      return sinceMs(t);
    },
    // What a test runner pays per file: a Node worker started and its first IPC reply (the teardown is
    // timed separately: kill for a plain fork, destroy() for a sandbox).
    'plain fork worker': async () => {
      const t = hr();
      const child = forkPlain(worker, [], { stdio: ['ignore', 'ignore', 'ignore', 'ipc'] });
      await firstReply(child);
      const up = sinceMs(t);
      const t2 = hr();
      const gone = new Promise((r) => child.once('exit', r));
      child.kill('SIGKILL');
      await gone;
      return { 'to first reply': up, teardown: sinceMs(t2) };
    },
    'nsbox fork worker': async () => {
      const t = hr();
      const child = nsbox.fork(worker, [], { stdio: ['ignore', 'ignore', 'ignore', 'ipc'] });
      await firstReply(child);
      const up = sinceMs(t);
      const t2 = hr();
      await child.destroy();
      return { 'to first reply': up, teardown: sinceMs(t2) };
    },
    'CLI nsbox run -- true': async () => {
      const t = hr();
      await waitExit(spawnPlain(node, [cli, 'run', '--', 'true'], ignore));
      return sinceMs(t);
    },
    'CLI nsbox run -- node -e 0': async () => {
      const t = hr();
      await waitExit(spawnPlain(node, [cli, 'run', '--', node, '-e', '0'], ignore));
      return sinceMs(t);
    },
  };
  return { nsbox, variants };
}

/** Runs every variant `reps` times, interleaved rep by rep; returns { name: [ms...] }. */
export async function runSingleRound(variants, reps) {
  const out = Object.fromEntries(Object.keys(variants).map((k) => [k, []]));
  for (let i = 0; i < reps; i++) {
    for (const [name, run] of Object.entries(variants)) {
      const result = await run();
      if (typeof result === 'number') out[name].push(result);
      else {
        delete out[name];
        for (const [part, ms] of Object.entries(result)) (out[`${name} (${part})`] ??= []).push(ms);
      }
    }
  }
  return out;
}

/**
 * Memory of one idle Node worker tree (after one IPC round trip): nsbox.fork (setpriv/unshare, sh init,
 * Node with the in-sandbox setup done) against child_process.fork. Returns treeMemory()'s figures.
 */
export async function workerMemory(nsbox, worker, which) {
  const child = which === 'nsbox' ? nsbox.fork(worker, [], { stdio: ['ignore', 'ignore', 'ignore', 'ipc'] }) : forkPlain(worker, [], { stdio: ['ignore', 'ignore', 'ignore', 'ipc'] });
  await new Promise((resolve, reject) => {
    child.once('error', reject);
    child.once('message', resolve);
    child.send('ping');
  });
  await new Promise((r) => setTimeout(r, 100));
  const memory = treeMemory(process.pid);
  if (which === 'nsbox') await child.destroy();
  else {
    const gone = new Promise((r) => child.once('exit', r));
    child.kill('SIGKILL');
    await gone;
  }
  return memory;
}
