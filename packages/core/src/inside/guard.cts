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

/**
 * `avoid`: more namespaces the setup must not be in. A zygote's sandbox passes the zygote's own, taken
 * in the zygote's memory (not from the config): a forked process starts in the zygote's namespaces.
 */
export function assertFreshNamespaces(config: SandboxConfig, avoid: Record<string, string> = {}): void {
  // Independent of anything the caller passed: /proc is still the outer one here, and it lists one pid
  // per PID namespace level in NSpid, so a process in a new PID namespace shows at least two.
  const levels = /^NSpid:\s*(.*)$/m.exec(fs.readFileSync('/proc/self/status', 'utf8'))?.[1].trim().split(/\s+/) ?? [];
  // The parent as the kernel sees it now: Node caches process.ppid, which a forked process inherits.
  const ppid = kernelParent();
  if (levels.length < 2 || ppid !== 1) {
    throw new GuardError(`expected a child of the sandbox's init in a new PID namespace, but this is PID ${levels.at(-1) ?? process.pid} (parent ${ppid}) in the caller's PID namespace`);
  }
  const kinds = config.network === 'loopback' ? [...GUARDED_NAMESPACES, 'net'] : [...GUARDED_NAMESPACES];
  assertNotIn(kinds, config, avoid);
}

/** The mount namespace is no longer the caller's or the zygote's: before a forked sandbox's first mount call. */
export function assertOwnMountNamespace(config: SandboxConfig, avoid: Record<string, string>): void {
  assertNotIn(['mnt'], config, avoid);
}

function assertNotIn(kinds: readonly string[], config: SandboxConfig, avoid: Record<string, string>): void {
  const own = namespaceIds(kinds);
  for (const kind of kinds) {
    const parent = config.parentNamespaces[kind];
    if (!parent || !own[kind]) throw new GuardError(`cannot compare the ${kind} namespace with the caller's`);
    if (parent === own[kind]) throw new GuardError(`the ${kind} namespace is the caller's (${own[kind]})`);
    if (avoid[kind] === own[kind]) throw new GuardError(`the ${kind} namespace is the zygote's (${own[kind]})`);
  }
}

function kernelParent(): number {
  // Loaded here, not at the top: the host imports this module for namespaceIds() and must not load koffi.
  const { sys } = require('./ffi.cjs') as typeof import('./ffi.cjs');
  return sys().getppid();
}
