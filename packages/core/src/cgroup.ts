// Resource limits per sandbox need a cgroup v2 subtree with the controllers delegated to the caller.
// A limit that cannot be applied is an error, never a silent skip.
import fs from 'node:fs';
import path from 'node:path';
import { LimitError } from './errors.cjs';

export interface Limits {
  memoryMax?: string;
  pidsMax?: number;
}

const FIX = "run the tests in a cgroup v2 subtree delegated to you (for example under 'systemd-run --user --scope -p Delegate=yes'), or drop the limit";

/** The caller's own cgroup v2 directory and the controllers it may hand to a child group. */
export function delegatedCgroup(): { dir: string; controllers: string[] } | { problem: string } {
  const mount = fs.readFileSync('/proc/self/mounts', 'utf8').split('\n').map((l) => l.split(' ')).find((f) => f[2] === 'cgroup2');
  if (!mount) return { problem: 'this host has no cgroup v2 hierarchy' };
  const own = /^0::(.*)$/m.exec(fs.readFileSync('/proc/self/cgroup', 'utf8'))?.[1];
  if (own === undefined) return { problem: 'this process is in no cgroup v2 group' };
  const dir = path.join(mount[1], own);
  try {
    const controllers = fs.readFileSync(path.join(dir, 'cgroup.controllers'), 'utf8').trim().split(/\s+/).filter(Boolean);
    fs.accessSync(dir, fs.constants.W_OK);
    return { dir, controllers };
  } catch {
    return { problem: `the cgroup v2 group ${dir} is not writable by this user` };
  }
}

/** Throws unless every requested limit can be applied on this host. */
export function checkLimits(limits: Limits, label: (option: 'memoryMax' | 'pidsMax') => string): void {
  const wanted = [limits.memoryMax !== undefined && (['memory', 'memoryMax'] as const), limits.pidsMax !== undefined && (['pids', 'pidsMax'] as const)].filter(
    (w): w is readonly ['memory', 'memoryMax'] | readonly ['pids', 'pidsMax'] => !!w,
  );
  if (wanted.length === 0) return;
  const cgroup = delegatedCgroup();
  for (const [controller, option] of wanted) {
    const problem = 'problem' in cgroup ? cgroup.problem : cgroup.controllers.includes(controller) ? undefined : `the ${controller} controller is not delegated to ${cgroup.dir}`;
    if (problem) throw new LimitError(`${label(option)} cannot be applied here: ${problem}`, FIX);
  }
  // Applying them (a child group per sandbox, joined by stage 0 before it forks) needs such a host to
  // test on; until then a host that has the controllers is refused too, rather than left unlimited.
  throw new LimitError(`${label(wanted[0][1])} cannot be applied yet: per-sandbox cgroup limits are not implemented`, 'drop the limit');
}
