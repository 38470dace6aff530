// The setup mounts over /tmp and renames the host when it runs in the wrong place, so it proves it is
// inside its own fresh namespaces before it changes anything.
import fs = require('node:fs');
import { GuardError } from '../errors.cjs';
import type { SandboxConfig } from '../protocol.cjs';

export const GUARDED_NAMESPACES = ['mnt', 'pid', 'uts', 'ipc'] as const;

export function namespaceIds(kinds: readonly string[] = [...GUARDED_NAMESPACES, 'net', 'user']): Record<string, string> {
  const ids: Record<string, string> = {};
  for (const kind of kinds) {
    try {
      ids[kind] = fs.readlinkSync(`/proc/self/ns/${kind}`);
    } catch {
      // An old kernel without this namespace kind: nothing to compare against.
    }
  }
  return ids;
}

export function assertFreshNamespaces(config: SandboxConfig): void {
  // Independent of anything the caller passed: /proc is still the outer one here, and it lists one pid
  // per PID namespace level in NSpid, so a process in a new PID namespace shows at least two.
  const levels = /^NSpid:\s*(.*)$/m.exec(fs.readFileSync('/proc/self/status', 'utf8'))?.[1].trim().split(/\s+/) ?? [];
  if (levels.length < 2 || process.ppid !== 1) {
    throw new GuardError(`expected a child of the sandbox's init in a new PID namespace, but this is PID ${process.pid} (parent ${process.ppid}) in the caller's PID namespace`);
  }
  const kinds = config.network === 'loopback' ? [...GUARDED_NAMESPACES, 'net'] : [...GUARDED_NAMESPACES];
  const own = namespaceIds(kinds);
  for (const kind of kinds) {
    const parent = config.parentNamespaces[kind];
    if (!parent || !own[kind]) throw new GuardError(`cannot compare the ${kind} namespace with the caller's`);
    if (parent === own[kind]) throw new GuardError(`the ${kind} namespace is the caller's (${own[kind]})`);
  }
}
