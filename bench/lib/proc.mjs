// Runs a command and measures its wall time and the peak of the summed RSS of its whole process tree,
// sampled from /proc every ~20 ms (children found through /proc/PID/task/TID/children, so the sampler
// reads only the tree's own files).
import { spawn } from 'node:child_process';
import fs from 'node:fs';

const PAGE = 4096;

/**
 * Every process (pid:starttime) ever seen in this benchmark's process tree. A sandbox's processes outlive their parent for a
 * moment while the kernel tears the sandbox down (reparented to the host's init): still ours.
 */
const ours = new Set();

/** The commands running now: an interrupted benchmark kills their process groups. */
const current = new Set();
for (const signal of ['SIGINT', 'SIGTERM', 'SIGHUP']) {
  process.once(signal, () => {
    for (const child of current) {
      try {
        process.kill(-child.pid, 'SIGKILL');
      } catch {
        // already gone
      }
    }
    process.exit(130);
  });
} // statm counts pages; x86-64 and arm64 Debian kernels use 4 KiB pages

export function childrenOf(pid) {
  const out = [];
  let tasks;
  try {
    tasks = fs.readdirSync(`/proc/${pid}/task`);
  } catch {
    return out;
  }
  for (const tid of tasks) {
    let text;
    try {
      text = fs.readFileSync(`/proc/${pid}/task/${tid}/children`, 'latin1');
    } catch {
      continue;
    }
    for (const c of text.split(' ')) if (c.trim()) out.push(Number(c));
  }
  return out;
}

/** RSS (bytes) of one process, from /proc/PID/stat (the same count as statm's resident); remembers it as ours. */
function rssOf(pid) {
  try {
    const text = fs.readFileSync(`/proc/${pid}/stat`, 'latin1');
    const f = text.slice(text.lastIndexOf(')') + 2).split(' ');
    ours.add(`${pid}:${f[19]}`); // pid:starttime, since pids wrap (pid_max may be 32768)
    return Number(f[21]) * PAGE;
  } catch {
    return 0;
  }
}

/** Every descendant of `pid` (children first found through /proc, then theirs). */
export function descendantsOf(pid) {
  const found = [];
  const queue = childrenOf(pid);
  while (queue.length > 0) {
    const next = queue.pop();
    found.push(next);
    for (const c of childrenOf(next)) queue.push(c);
  }
  return found;
}

/** Sum of RSS (bytes) over `pid` and every descendant; `pid` itself can be left out. */
export function treeRss(pid, { includeRoot = true } = {}) {
  const pids = includeRoot ? [pid, ...descendantsOf(pid)] : descendantsOf(pid);
  return { bytes: pids.reduce((sum, p) => sum + rssOf(p), 0), processes: pids.length };
}

/**
 * Memory of `pid`'s descendants from /proc/PID/smaps_rollup, in bytes: rss (what the runners' peaks
 * count), pss (shared pages divided among the processes that map them) and uss (pages no other process
 * maps: what the machine gets back when the tree dies). RSS counts the Node binary's and the shared
 * libraries' pages again in every process, so a tree of more processes looks bigger than it costs.
 */
export function treeMemory(pid) {
  const total = { rss: 0, pss: 0, uss: 0, processes: 0 };
  for (const next of descendantsOf(pid)) {
    let text;
    try {
      text = fs.readFileSync(`/proc/${next}/smaps_rollup`, 'latin1');
    } catch {
      continue; // gone meanwhile
    }
    const kb = (field) => Number(new RegExp(`^${field}:\\s+(\\d+) kB`, 'm').exec(text)?.[1] ?? 0) * 1024;
    total.rss += kb('Rss');
    total.pss += kb('Pss');
    total.uss += kb('Private_Clean') + kb('Private_Dirty');
    total.processes++;
  }
  return total;
}

/** Samples treeRss(pid) every `intervalMs` until stopped; returns the peak. */
export function sampleTree(pid, { intervalMs = 20, includeRoot = true } = {}) {
  let peak = 0;
  let peakProcesses = 0;
  let samples = 0;
  const take = () => {
    const { bytes, processes } = treeRss(pid, { includeRoot });
    samples++;
    if (bytes > peak) peak = bytes;
    if (processes > peakProcesses) peakProcesses = processes;
  };
  take();
  const timer = setInterval(take, intervalMs);
  return {
    stop() {
      clearInterval(timer);
      return { peak, peakProcesses, samples };
    },
  };
}

const HZ = 100; // USER_HZ, the unit of the CPU times in /proc/PID/stat

function statOf(pid) {
  try {
    const text = fs.readFileSync(`/proc/${pid}/stat`, 'latin1');
    const f = text.slice(text.lastIndexOf(')') + 2).split(' ');
    // f[0] is field 3 (state): ppid f[1], flags f[6], utime f[11], stime f[12], starttime f[19]
    return { ppid: Number(f[1]), flags: Number(f[6]), cpu: Number(f[11]) + Number(f[12]), start: f[19] };
  } catch {
    return undefined;
  }
}

const PF_KTHREAD = 0x200000;

/**
 * CPU used by processes that are neither this benchmark nor its descendants, sampled every
 * `intervalMs` from /proc (processes that live less than one interval are missed): an indicator that
 * someone else used the machine during a measurement.
 */
export function foreignLoad({ intervalMs = 100 } = {}) {
  const seen = new Map(); // "pid:starttime" -> cpu ticks at the first sighting
  let used = 0;
  const mine = () => new Set([process.pid, ...descendantsOf(process.pid)]);
  let first = true;
  const scan = () => {
    const own = mine();
    for (const name of fs.readdirSync('/proc')) {
      if (!/^\d+$/.test(name)) continue;
      const pid = Number(name);
      if (own.has(pid)) continue;
      const st = statOf(pid);
      if (!st || st.flags & PF_KTHREAD) continue;
      const key = `${pid}:${st.start}`;
      if (ours.has(key)) continue;
      // A process started meanwhile counts from zero; one already running, from now on.
      if (!seen.has(key)) {
        if (!first) used += st.cpu;
        seen.set(key, st.cpu);
      } else {
        used += st.cpu - seen.get(key);
        seen.set(key, st.cpu);
      }
    }
    first = false;
  };
  const t0 = process.hrtime.bigint();
  scan();
  const timer = setInterval(scan, intervalMs);
  return {
    /** Cores used by others on average since the start. */
    stop() {
      clearInterval(timer);
      scan();
      const seconds = Number(process.hrtime.bigint() - t0) / 1e9;
      return seconds > 0 ? used / HZ / seconds : 0;
    },
  };
}

/**
 * The machine's CPU time so far in seconds, from /proc/stat: user (user + nice) and system (system +
 * irq + softirq). A zygote's forks are reaped by the kernel (it ignores SIGCHLD), so rusage misses
 * their CPU; the machine's counters do not (the other load, measured alongside, says how much of it
 * was someone else's).
 */
export function machineCpu() {
  const fields = fs.readFileSync('/proc/stat', 'utf8').split('\n')[0].trim().split(/\s+/).slice(1).map(Number);
  return { user: (fields[0] + fields[1]) / HZ, system: (fields[2] + fields[5] + fields[6]) / HZ };
}

/**
 * Runs `file args` with stdout and stderr appended to `log`; resolves with wall time (ms), peak tree
 * RSS (bytes), the machine's user and system CPU seconds over the run, and the exit status.
 */
export function measureCommand(file, args, { cwd, env, log }) {
  return new Promise((resolve, reject) => {
    const fd = fs.openSync(log, 'a');
    fs.writeSync(fd, `\n$ ${[file, ...args].join(' ')}\n`);
    ours.clear(); // only this run's processes matter, and the set must not grow the benchmark's heap
    const others = foreignLoad();
    const cpu0 = machineCpu();
    const start = process.hrtime.bigint();
    // Its own process group, so that an interrupted benchmark can take the whole tree down.
    const child = spawn(file, args, { cwd, env, stdio: ['ignore', fd, fd], detached: true });
    current.add(child);
    fs.closeSync(fd);
    let sampler;
    child.once('spawn', () => {
      sampler = sampleTree(child.pid);
    });
    child.once('error', reject);
    child.once('exit', (code, signal) => {
      const ms = Number(process.hrtime.bigint() - start) / 1e6;
      const cpu1 = machineCpu();
      const cpu = { user: cpu1.user - cpu0.user, system: cpu1.system - cpu0.system };
      const { peak, peakProcesses, samples } = sampler ? sampler.stop() : { peak: 0, peakProcesses: 0, samples: 0 };
      current.delete(child);
      resolve({ ms, peakRss: peak, peakProcesses, samples, code, signal, foreign: others.stop(), cpu });
    });
  });
}

/**
 * Waits until processes outside the benchmark use less than `threshold` cores over `windowMs`, for at
 * most `maxWaitMs`. Returns the time waited (ms) and whether the machine became quiet.
 */
export async function waitQuiet({ threshold = 0.15, windowMs = 600, maxWaitMs = 120_000 } = {}) {
  const start = Date.now();
  for (;;) {
    const probe = foreignLoad({ intervalMs: 100 });
    await new Promise((r) => setTimeout(r, windowMs));
    const load = probe.stop();
    const waited = Date.now() - start;
    if (load < threshold) return { waited, quiet: true, load };
    if (waited >= maxWaitMs) return { waited, quiet: false, load };
    await new Promise((r) => setTimeout(r, 2000));
  }
}
