// Resource limits and usage figures per sandbox, from a cgroup v2 group of its own.
//
// Where the groups live: only in the caller's own cgroup v2 group (from /proc/self/cgroup), and only
// when that group hands the controllers down and is writable by the caller, as a systemd scope with
// Delegate=yes or a container's cgroup namespace is. nsbox never creates a group anywhere else, and a
// limit that cannot be applied is an error, never a silent skip.
//
// Layout under that group G:
//   G/nsbox-runner             the caller's processes, when G held processes: cgroup v2 lets a group
//                              with processes hand no controller to its children, so they move one
//                              level down (what systemd's delegation documentation asks of delegatees)
//   G/nsbox-<ns>-<pid>-<random> one per sandbox; <pid> is the caller's in its PID namespace <ns>, so
//                              that a caller killed before it cleaned up leaves groups the next nsbox
//                              start (in the same PID namespace) recognises as dead and removes
//
// How a sandbox gets in before its first instruction: the group is created and limited first, then
// the first process of the sandbox moves itself in before it starts anything (fresh sandboxes: a shell
// that writes its pid to cgroup.procs and execs stage 0; zygote sandboxes: the sandbox parent, right
// after the zygote forked it and before it unshares). Everything after that is forked from a process
// already inside, so the init, the setup and the command are all counted and limited.
// CLONE_INTO_CGROUP would save the shell, but Node's spawn() cannot pass it, and the shell costs about
// a millisecond on a sandbox start of tens.
//
// Cleanup: when the sandbox has ended, however it ended, the host writes cgroup.kill (so nothing that
// escaped the PID namespace's teardown survives), waits until the group is empty, reads its figures
// and removes it. A caller SIGKILLed before that leaves its groups (its sandboxes die with it through
// their death signals); the next nsbox start in the same group removes every group whose caller is dead.
import fs from 'node:fs';
import path from 'node:path';
import crypto from 'node:crypto';
import { createRequire } from 'node:module';
import { LimitError } from './errors.cjs';
import { isRunning, procStat } from './leftovers.js';

export interface Limits {
  memoryMax?: string;
  pidsMax?: number;
  cpuMax?: number;
  /** Measure peak memory and CPU time even without a limit. */
  stats?: boolean;
}

export type LimitOption = 'memoryMax' | 'pidsMax' | 'cpuMax';

/** What a sandbox used, from its cgroup (or, without one, what the host's /proc tells). */
export interface SandboxUsage {
  /** Highest memory use of the whole sandbox in bytes (memory.peak), page cache and tmpfs included. */
  memoryPeak?: number;
  /** CPU time of every process of the sandbox, in milliseconds (cpu.stat usage_usec). */
  cpuTime?: number;
  /** The most tasks (processes and threads: Node alone has about ten) the sandbox had at once (pids.peak). */
  pidsPeak?: number;
  /** The figures that could not be had here, each with the reason. */
  missing: string[];
}

/** The limits the kernel enforced on a sandbox. */
export interface LimitsReached {
  /** The kernel's OOM killer killed `kills` processes: the sandbox reached memoryMax (`limit` bytes). */
  memory?: { limit: number; kills: number };
  /** `failures` forks or clones failed: the sandbox had pidsMax (`limit`) processes. */
  pids?: { limit: number; failures: number };
}

export const LIMIT_FIX =
  "run the tests in a cgroup v2 group delegated to you: on systemd, prefix the command with 'systemd-run --user --scope -p Delegate=yes' (as root: 'systemd-run --scope -p Delegate=yes'; in CI, a runner or container with cgroup v2 and its own cgroup namespace); or drop the limit";
const V1_FIX =
  "boot the host with cgroup v2 only (kernel parameter systemd.unified_cgroup_hierarchy=1, the default of current distributions), then run the tests under 'systemd-run --user --scope -p Delegate=yes'; or drop the limit";
/** The one-line fix for a problem `why()` named. */
export function limitFix(problem: string): string {
  return /cgroup v1/.test(problem) ? V1_FIX : LIMIT_FIX;
}
const CONTROLLER: Record<LimitOption, string> = { memoryMax: 'memory', pidsMax: 'pids', cpuMax: 'cpu' };
const RUNNER_LEAF = 'nsbox-runner';
const GROUP_PREFIX = 'nsbox-';
/** cpu.max's period: the kernel's default, 100 ms. */
const CPU_PERIOD = 100_000;

export type CgroupBase = { dir: string; controllers: string[]; v1: string[] } | { problem: string };

function read(file: string): string | undefined {
  try {
    return fs.readFileSync(file, 'utf8');
  } catch {
    return undefined;
  }
}

/** The v1 hierarchies that hold controllers (not systemd's name=systemd one). */
function v1Controllers(procCgroup: string): string[] {
  return procCgroup
    .split('\n')
    .map((line) => line.split(':')[1] ?? '')
    .flatMap((list) => list.split(','))
    .filter((c) => c && !c.startsWith('name='));
}

/**
 * The group nsbox may create sandbox groups in: the caller's own (its parent when the caller sits in
 * the nsbox-runner leaf of an earlier start), with the controllers it can hand down.
 */
export function cgroupBase(): CgroupBase {
  const procCgroup = read('/proc/self/cgroup') ?? '';
  const mount = (read('/proc/self/mounts') ?? '').split('\n').map((l) => l.split(' ')).find((f) => f[2] === 'cgroup2');
  const v1 = v1Controllers(procCgroup);
  if (!mount) return { problem: v1.length > 0 ? `this host has only cgroup v1 (${v1.join(', ')}), nsbox needs cgroup v2` : 'this host has no cgroup v2 hierarchy mounted' };
  const own = /^0::(.*)$/m.exec(procCgroup)?.[1];
  if (own === undefined) return { problem: 'this process is in no cgroup v2 group' };
  let dir = path.join(mount[1], own);
  if (path.basename(dir) === RUNNER_LEAF) dir = path.dirname(dir);
  const controllers = read(path.join(dir, 'cgroup.controllers'))?.trim().split(/\s+/).filter(Boolean);
  if (!controllers) return { problem: `the caller's cgroup v2 group ${dir} cannot be read` };
  try {
    fs.accessSync(dir, fs.constants.W_OK);
    fs.accessSync(path.join(dir, 'cgroup.procs'), fs.constants.W_OK);
  } catch {
    return { problem: `the caller's cgroup v2 group ${dir} is not writable by this user (not delegated to it)` };
  }
  if (controllers.length === 0 && v1.length > 0) return { problem: `this host's controllers (${v1.join(', ')}) are on cgroup v1; the cgroup v2 group ${dir} has none` };
  return { dir, controllers, v1 };
}

function why(base: CgroupBase, controller: string): string | undefined {
  if ('problem' in base) return base.problem;
  if (base.controllers.includes(controller)) {
    // Root may write every group, delegated or not. Reorganising one that a manager such as systemd
    // owns (a service's) would break its bookkeeping: root goes ahead only where the controller is
    // handed down already, in its cgroup namespace's root (a container, the test guest), or in a
    // group marked delegated.
    const handedDown = read(path.join(base.dir, 'cgroup.subtree_control'))?.split(/\s+/).includes(controller);
    if (process.getuid?.() !== 0 || handedDown || isNamespaceRoot() || markedDelegated(base.dir)) return undefined;
    return `the caller's cgroup v2 group ${base.dir} is not delegated (no trusted.delegate mark): nsbox leaves it as its manager set it up`;
  }
  if (base.v1.includes(controller)) return `this host's ${controller} controller is on cgroup v1, and nsbox needs it on cgroup v2`;
  return `the ${controller} controller is not delegated to the caller's cgroup v2 group ${base.dir} (it has: ${base.controllers.join(' ') || 'none'})`;
}

/** Throws a LimitError naming the option, its value, the cause and the fix, unless every requested limit can be applied here. */
export function checkLimits(limits: Limits, label: (option: LimitOption) => string): void {
  const base = cgroupBase();
  for (const option of ['memoryMax', 'pidsMax', 'cpuMax'] as const) {
    if (limits[option] === undefined) continue;
    const problem = why(base, CONTROLLER[option]);
    if (problem) throw new LimitError(`${label(option)} ${String(limits[option])} cannot be applied here: ${problem}`, limitFix(problem));
  }
}

/** What `nsbox doctor` says about limits: which controllers the caller can use. */
export function limitsReport(): { usable: string[]; detail: string; problem?: string; fix?: string } {
  const base = cgroupBase();
  if ('problem' in base) return { usable: [], detail: `no limits or peak memory: ${base.problem}`, problem: base.problem, fix: limitFix(base.problem) };
  const all = ['memory', 'pids', 'cpu'];
  const usable = all.filter((c) => why(base, c) === undefined);
  const onV1 = all.filter((c) => !usable.includes(c) && base.v1.includes(c));
  const problems = [
    ...(onV1.length ? [`this host's ${onV1.join(', ')} controller${onV1.length > 1 ? 's are' : ' is'} on cgroup v1, and nsbox needs cgroup v2`] : []),
    ...new Set(all.filter((c) => !onV1.includes(c)).map((c) => why(base, c)).filter((p): p is string => p !== undefined)),
  ];
  return {
    usable,
    detail: usable.length
      ? `usable: ${usable.map((c) => `${c} (${c === 'memory' ? 'memoryMax, peak memory' : c === 'pids' ? 'pidsMax' : 'cpuMax'})`).join(', ')}; sandbox groups go under ${base.dir}`
      : `none usable (no limits, no peak memory) in the caller's group ${base.dir}`,
    ...(problems.length ? { problem: problems.join('; '), fix: limitFix(problems.join(' ')) } : {}),
  };
}

/** Bytes of a size as the options take it: `512M`, `2g`, `65536`. */
export function sizeBytes(size: string): number {
  const match = /^([0-9]+)([kmg]?)$/i.exec(size);
  if (!match) return NaN;
  return Number(match[1]) * 1024 ** ' kmg'.indexOf((match[2] || ' ').toLowerCase());
}

/** `64 MiB`, `1.5 GiB`, `900 KiB`. */
export function formatBytes(bytes: number): string {
  const units = ['bytes', 'KiB', 'MiB', 'GiB', 'TiB'];
  let value = bytes;
  let unit = 0;
  while (value >= 1024 && unit < units.length - 1) {
    value /= 1024;
    unit++;
  }
  return `${unit === 0 || Number.isInteger(value) ? value : value.toFixed(1)} ${units[unit]}`;
}

function errnoOf(error: unknown): string {
  return (error as NodeJS.ErrnoException)?.code ?? String(error);
}

const prepared = new Map<string, Set<string>>();

/**
 * Makes `base` hand `controllers` to its children. A group with processes cannot (cgroup v2's "no
 * internal processes" rule): its processes, the caller's among them, move to base/nsbox-runner first.
 */
function enableControllers(base: string, controllers: string[]): void {
  const done = prepared.get(base) ?? new Set(read(path.join(base, 'cgroup.subtree_control'))?.trim().split(/\s+/).filter(Boolean));
  prepared.set(base, done);
  const missing = controllers.filter((c) => !done.has(c));
  if (missing.length === 0) return;
  const control = path.join(base, 'cgroup.subtree_control');
  const enable = () => fs.writeFileSync(control, missing.map((c) => `+${c}`).join(' '));
  try {
    enable();
  } catch (error) {
    if (errnoOf(error) !== 'EBUSY') throw new LimitError(`cannot hand the ${missing.join(', ')} controller to sandboxes: writing ${control} failed with ${errnoOf(error)}`, LIMIT_FIX);
    const leaf = path.join(base, RUNNER_LEAF);
    fs.mkdirSync(leaf, { recursive: true });
    for (const pid of (read(path.join(base, 'cgroup.procs')) ?? '').split('\n').filter(Boolean)) {
      try {
        fs.writeFileSync(path.join(leaf, 'cgroup.procs'), pid);
      } catch {
        // ended meanwhile, or another user's process: enabling below says so
      }
    }
    try {
      enable();
    } catch (again) {
      throw new LimitError(
        `cannot hand the ${missing.join(', ')} controller to sandboxes: ${base} still holds processes nsbox cannot move (${errnoOf(again)} from ${control})`,
        LIMIT_FIX,
      );
    }
  }
  for (const c of missing) done.add(c);
}

/** Whether the caller's group is the root of its cgroup namespace (`0::/`), which a container or a guest owns. */
function isNamespaceRoot(): boolean {
  return new RegExp(`^0::/(${RUNNER_LEAF})?$`, 'm').test(read('/proc/self/cgroup') ?? '');
}

/** systemd (252+) marks the groups it delegates with the trusted.delegate (or user.delegate) extended attribute. */
const marks = new Map<string, boolean>();
function markedDelegated(dir: string): boolean {
  let marked = marks.get(dir);
  if (marked === undefined) marks.set(dir, (marked = readDelegateMark(dir)));
  return marked;
}

function readDelegateMark(dir: string): boolean {
  try {
    const koffi = createRequire(import.meta.url)('koffi') as typeof import('koffi');
    const getxattr = koffi.load('libc.so.6').func('long getxattr(const char *path, const char *name, void *value, size_t size)');
    const value = Buffer.alloc(8);
    return ['trusted.delegate', 'user.delegate'].some((name) => {
      const length = Number(getxattr(dir, name, value, value.length));
      return length > 0 && value.toString('utf8', 0, length).startsWith('1');
    });
  } catch {
    return false;
  }
}


/** Kills what is left in a group and removes it; false when it could not be removed (yet). */
function killAndRemove(dir: string): boolean {
  try {
    fs.writeFileSync(path.join(dir, 'cgroup.kill'), '1');
  } catch {
    // before Linux 5.14 there is no cgroup.kill: the sandbox's own teardown killed everything
  }
  try {
    fs.rmdirSync(dir);
    return true;
  } catch (error) {
    return errnoOf(error) === 'ENOENT';
  }
}

const swept = new Set<string>();

/** The inode number of this process's PID namespace, which names it. */
function pidNamespace(): string {
  return /\[(\d+)\]/.exec(fs.readlinkSync('/proc/self/ns/pid'))?.[1] ?? '0';
}

/**
 * Groups left by callers that died before they cleaned up (SIGKILLed runners): killed and removed by
 * the next nsbox start in the same group. A caller's groups are named after its pid; one whose pid
 * runs again (reused) is left for a later start.
 */
export function removeDeadGroups(base: string): string[] {
  const removed: string[] = [];
  let entries: string[];
  try {
    entries = fs.readdirSync(base);
  } catch {
    return removed;
  }
  for (const entry of entries) {
    const match = new RegExp(`^${GROUP_PREFIX}(\\d+)-(\\d+)-[0-9a-f]+$`).exec(entry);
    // A pid means something only in its own PID namespace: another namespace's groups are left alone.
    if (!match || match[1] !== pidNamespace() || isRunning(Number(match[2]))) continue;
    if (killAndRemove(path.join(base, entry))) removed.push(entry);
  }
  return removed;
}

/** The host's view of a sandbox's cgroup: created and limited before the sandbox starts, read and removed after it ended. */
export class SandboxCgroup {
  private peakSampler: NodeJS.Timeout | undefined;
  private sampledPeak = 0;

  private constructor(
    readonly dir: string,
    private readonly limits: Limits,
    private readonly missing: string[],
  ) {}

  /** A group for a sandbox with `limits`; undefined when none is needed (no limit, no stats) or, for stats only, none can be had here (then `missing` says why). */
  static create(limits: Limits): { cgroup?: SandboxCgroup; missing: string[] } {
    const wanted = (['memoryMax', 'pidsMax', 'cpuMax'] as const).filter((o) => limits[o] !== undefined);
    if (wanted.length === 0 && !limits.stats) return { missing: [] };
    const base = cgroupBase();
    const missing: string[] = [];
    const memory = why(base, 'memory');
    if (limits.stats && memory) missing.push(`peak memory: ${memory}`);
    // For stats alone a group is made only where it gives peak memory, that is where the memory
    // controller is delegated: never on a host whose controllers are elsewhere (cgroup v1).
    if ('problem' in base || (wanted.length === 0 && memory)) return { missing };
    for (const option of wanted) {
      const problem = why(base, CONTROLLER[option]);
      if (problem) throw new LimitError(`${option} ${String(limits[option])} cannot be applied here: ${problem}`, limitFix(problem));
    }
    const controllers = [...new Set([...wanted.map((o) => CONTROLLER[o]), ...(limits.stats ? ['memory', 'pids'].filter((c) => base.controllers.includes(c)) : [])])];
    if (!swept.has(base.dir)) {
      swept.add(base.dir);
      removeDeadGroups(base.dir);
    }
    enableControllers(base.dir, controllers);
    const dir = path.join(base.dir, `${GROUP_PREFIX}${pidNamespace()}-${process.pid}-${crypto.randomBytes(4).toString('hex')}`);
    try {
      fs.mkdirSync(dir);
    } catch (error) {
      throw new LimitError(`cannot create the sandbox's cgroup ${dir}: ${errnoOf(error)}`, LIMIT_FIX);
    }
    const group = new SandboxCgroup(dir, limits, missing);
    try {
      if (limits.memoryMax !== undefined) {
        group.write('memory.max', String(sizeBytes(limits.memoryMax)));
        // Without this the limit would only bound RAM, and a leak would go on into swap.
        if (fs.existsSync(path.join(dir, 'memory.swap.max'))) group.write('memory.swap.max', '0');
      }
      if (limits.pidsMax !== undefined) group.write('pids.max', String(limits.pidsMax));
      if (limits.cpuMax !== undefined) group.write('cpu.max', `${Math.max(1000, Math.round(limits.cpuMax * CPU_PERIOD))} ${CPU_PERIOD}`);
    } catch (error) {
      fs.rmdirSync(dir);
      throw error;
    }
    // Kernels before 5.19 have no memory.peak: memory.current is sampled instead (a lower bound).
    if (limits.stats && base.controllers.includes('memory') && !fs.existsSync(path.join(dir, 'memory.peak'))) {
      group.peakSampler = setInterval(() => {
        group.sampledPeak = Math.max(group.sampledPeak, Number(read(path.join(dir, 'memory.current')) ?? 0));
      }, 100).unref();
    }
    return { cgroup: group, missing };
  }

  private write(file: string, value: string): void {
    try {
      fs.writeFileSync(path.join(this.dir, file), value);
    } catch (error) {
      throw new LimitError(`cannot set ${file} to ${value} in ${this.dir}: ${errnoOf(error)}`, LIMIT_FIX);
    }
  }

  /** The file a process writes its pid to, to join the group. */
  get procs(): string {
    return path.join(this.dir, 'cgroup.procs');
  }

  /** Stage 0 wrapped so that it joins the group before it execs (see the top of this file). */
  wrap(stage0: { file: string; args: string[] }, sh: string): { file: string; args: string[] } {
    const join = `echo $$ >"$0" || { echo "nsbox: could not join the sandbox's cgroup $0" >&2; exit 125; }; exec "$@"`;
    return { file: sh, args: ['-c', join, this.procs, stage0.file, ...stage0.args] };
  }

  private keyed(file: string): Record<string, number> {
    const values: Record<string, number> = {};
    for (const line of (read(path.join(this.dir, file)) ?? '').split('\n')) {
      const [key, value] = line.split(' ');
      if (key) values[key] = Number(value);
    }
    return values;
  }

  /**
   * Once the sandbox's processes ended (or were killed): kills anything left, waits until the group is
   * empty, reads what it used and which limits acted, and removes it.
   */
  async finish(): Promise<{ usage?: SandboxUsage; limitsReached?: LimitsReached }> {
    if (this.peakSampler) clearInterval(this.peakSampler);
    try {
      fs.writeFileSync(path.join(this.dir, 'cgroup.kill'), '1');
    } catch {
      // no cgroup.kill (before 5.14) or already removed
    }
    // A killed process leaves its group when it has exited, which may be a moment after its parent saw
    // it die, and longer on a loaded machine: the 30 s bound is only a safety net for a process stuck
    // in the kernel (a loaded one-CPU guest once needed more than the 2 s this used to allow).
    for (let i = 0; i < 3000 && /^populated 1$/m.test(read(path.join(this.dir, 'cgroup.events')) ?? ''); i++) {
      await new Promise((resolve) => setTimeout(resolve, 10));
    }
    const limitsReached: LimitsReached = {};
    if (this.limits.memoryMax !== undefined) {
      const kills = this.keyed('memory.events').oom_kill ?? 0;
      if (kills > 0) limitsReached.memory = { limit: sizeBytes(this.limits.memoryMax), kills };
    }
    if (this.limits.pidsMax !== undefined) {
      const failures = this.keyed('pids.events').max ?? 0;
      if (failures > 0) limitsReached.pids = { limit: this.limits.pidsMax, failures };
    }
    let usage: SandboxUsage | undefined;
    if (this.limits.stats) {
      usage = { missing: [...this.missing] };
      const peak = read(path.join(this.dir, 'memory.peak'));
      if (peak !== undefined) usage.memoryPeak = Number(peak.trim());
      else if (this.peakSampler) usage.memoryPeak = this.sampledPeak;
      const cpu = this.keyed('cpu.stat').usage_usec;
      if (cpu !== undefined) usage.cpuTime = cpu / 1000;
      else usage.missing.push('CPU time: the group has no cpu.stat');
      const pids = read(path.join(this.dir, 'pids.peak'));
      if (pids !== undefined) usage.pidsPeak = Number(pids.trim());
    }
    let removed = killAndRemove(this.dir);
    for (let i = 0; !removed && i < 500; i++) {
      await new Promise((resolve) => setTimeout(resolve, 20));
      removed = killAndRemove(this.dir);
    }
    // Not removed after ten more seconds: a process stuck in the kernel. The next nsbox start removes it.
    return { usage, ...(Object.keys(limitsReached).length > 0 ? { limitsReached } : {}) };
  }
}

/**
 * CPU time of a sandbox without a cgroup: what its init has reaped, read from the host's /proc while
 * the init still runs (at the command's end). Processes still running then are not counted.
 */
export function reapedCpuTime(initPid: number | undefined): number | undefined {
  if (initPid === undefined) return undefined;
  const fields = procStat(initPid);
  if (!fields) return undefined;
  // utime, stime, cutime, cstime are fields 14 to 17 of stat(5); clock ticks are 100 a second on Linux.
  return (Number(fields[11]) + Number(fields[12]) + Number(fields[13]) + Number(fields[14])) * 10;
}
