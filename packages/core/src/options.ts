// Validates what a user asks for, before anything starts, and turns it into the SandboxConfig that
// crosses into the sandbox. Every rejection names the option, the value and what is allowed.
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import crypto from 'node:crypto';
import { OptionError } from './errors.cjs';
import { checkLimits, type Limits } from './cgroup.js';
import { namespaceIds } from './inside/guard.cjs';
import type { Identity, NetworkMode, SandboxConfig } from './protocol.cjs';

export interface SandboxOptions {
  /** Hostname inside the sandbox (default `nsbox-<random id>`); it also resolves there. */
  hostname?: string;
  /** 'host' shares the host's network; 'loopback' gives a private network with only `lo`, up. */
  network?: NetworkMode;
  /** Size of the private /tmp and /dev/shm, as tmpfs takes it: `64m`, `1g`, `10%`. Default: the kernel's. */
  tmpfsSize?: string;
  /** More private tmpfs mounts: `PATH` or `PATH:SIZE`. */
  tmpfs?: string[];
  /** Bind mounts, read-write: `SRC` (same path inside) or `SRC:DST`. */
  bind?: string[];
  /** Bind mounts, read-only: `SRC` or `SRC:DST`. */
  roBind?: string[];
  /** Make every host mount read-only inside, except `writable` paths and the sandbox's own mounts. */
  readOnly?: boolean;
  /** With `readOnly`: host paths that stay writable. */
  writable?: string[];
  /** 'caller' (default): the caller's uid and gid, no capabilities. 'root': uid 0 inside. */
  identity?: Identity;
  /** Kill the whole sandbox after this many milliseconds. */
  timeout?: number;
  /** Paths under a private tmpfs (such as a project in /tmp) that must stay visible at the same path. */
  expose?: string[];
  /** cgroup v2 memory.max for the whole sandbox (`512M`, `2G`); an error where it cannot be applied. */
  memoryMax?: string;
  /** cgroup v2 pids.max for the whole sandbox (bounds a fork bomb); an error where it cannot be applied. */
  pidsMax?: number;
  /** cgroup v2 cpu.max for the whole sandbox, as a share of one CPU (`0.5`: half a CPU; `2`: two CPUs). */
  cpuMax?: number;
  /** Measure the sandbox's peak memory and CPU time (`exited.usage`); what a host cannot measure is listed in `usage.missing`. */
  stats?: boolean;
}

export const OPTION_NAMES = [
  'hostname', 'network', 'tmpfsSize', 'tmpfs', 'bind', 'roBind', 'readOnly', 'writable', 'identity', 'timeout', 'expose', 'memoryMax', 'pidsMax', 'cpuMax', 'stats',
] as const satisfies readonly (keyof SandboxOptions)[];

/** How an option is called where the user wrote it: `network` in a config, `--network` on the CLI. */
export type OptionLabel = (option: keyof SandboxOptions) => string;
export const configLabel: OptionLabel = (option) => `nsbox option '${option}'`;

export interface ResolvedOptions {
  config: SandboxConfig;
  identity: Identity;
  timeout: number | undefined;
  /** The cgroup limits and stats asked for: applied by the host side when it starts the sandbox. */
  limits: Limits;
}

const CAP_SYS_PTRACE = 19;
const CAP_SYS_ADMIN = 21;

/**
 * Capabilities a root test keeps none of: CAP_SYS_ADMIN would let it unmount what the sandbox mounted
 * (its private /tmp, /proc, the record mask) and find the host's directories underneath, or remount
 * a read-only host writable; CAP_SYS_PTRACE would let it do the same through its sandbox's init (PID
 * 1), which keeps every capability and holds the control connection to the host. Without them the
 * kernel refuses both (the init's capabilities are no subset of the test's). A rootless 'root' test
 * always loses them; a real-root caller's tests only under readOnly (they stay root otherwise, see
 * the README's "What nsbox protects against").
 */
function capabilitiesToDrop(realRoot: boolean, identity: Identity, readOnly: boolean): number[] {
  if (realRoot) return readOnly ? [CAP_SYS_ADMIN, CAP_SYS_PTRACE] : [];
  return identity === 'root' ? [CAP_SYS_ADMIN, CAP_SYS_PTRACE] : [];
}
const HOSTNAME = /^(?=.{1,64}$)[a-zA-Z0-9]([a-zA-Z0-9-]*[a-zA-Z0-9])?(\.[a-zA-Z0-9]([a-zA-Z0-9-]*[a-zA-Z0-9])?)*$/;
const SIZE = /^([1-9][0-9]*[kmgKMG]?|([1-9][0-9]?|100)%)$/;

function oneOf<T extends string>(label: string, value: unknown, allowed: readonly T[], fallback: T): T {
  if (value === undefined) return fallback;
  if (typeof value === 'string' && (allowed as readonly string[]).includes(value)) return value as T;
  throw new OptionError(label, value, `expected ${allowed.map((a) => `'${a}'`).join(' or ')}`);
}

function list(label: string, value: unknown): string[] {
  if (value === undefined) return [];
  if (Array.isArray(value) && value.every((v) => typeof v === 'string')) return value;
  throw new OptionError(label, value, 'expected a list of strings');
}

function existingAbsolute(label: string, value: string, what = 'path'): string {
  if (!path.isAbsolute(value)) throw new OptionError(label, value, `the ${what} must be absolute (start with /)`);
  if (!fs.existsSync(value)) throw new OptionError(label, value, `the ${what} does not exist`);
  return path.resolve(value);
}

function absoluteTarget(label: string, value: string): string {
  if (!path.isAbsolute(value)) throw new OptionError(label, value, 'the destination must be absolute (start with /)');
  const resolved = path.resolve(value);
  if (resolved === '/') throw new OptionError(label, value, 'the destination cannot be /');
  return resolved;
}

function isUnder(child: string, parent: string): boolean {
  return child !== parent && child.startsWith(parent.endsWith('/') ? parent : `${parent}/`);
}

function parseBind(label: string, entry: string, readOnly: boolean, tmpfs: string[]) {
  const colon = entry.indexOf(':');
  const sourceText = colon < 0 ? entry : entry.slice(0, colon);
  const source = existingAbsolute(label, sourceText, 'source');
  const target = colon < 0 ? source : absoluteTarget(label, entry.slice(colon + 1));
  // Creating a missing destination on a host filesystem would change the host.
  if (!fs.existsSync(target) && !tmpfs.some((t) => isUnder(target, t))) {
    throw new OptionError(label, entry, `the destination does not exist; nsbox creates destinations only inside its own tmpfs mounts (${tmpfs.join(', ')})`);
  }
  return { source, target, readOnly };
}

/** An eighth of the host's memory, in MiB (tmpfs sizes round up to whole pages anyway). */
export function defaultTmpfsSize(): string {
  return `${Math.max(64, Math.floor(os.totalmem() / 8 / 1048576))}m`;
}

function parseSize(label: string, value: unknown): string | undefined {
  if (value === undefined) return undefined;
  if (typeof value === 'string' && SIZE.test(value)) return value;
  throw new OptionError(label, value, "expected a tmpfs size such as '64m', '1g', '512k' or '10%'");
}

export function resolveOptions(options: SandboxOptions = {}, label: OptionLabel = configLabel): ResolvedOptions {
  if (options === null || typeof options !== 'object' || Array.isArray(options)) {
    throw new OptionError('nsbox options', options, 'expected an object');
  }
  for (const key of Object.keys(options)) {
    if (!(OPTION_NAMES as readonly string[]).includes(key)) {
      throw new OptionError(label(key as keyof SandboxOptions), (options as Record<string, unknown>)[key], `unknown option; known options: ${OPTION_NAMES.join(', ')}`);
    }
  }

  const hostname = options.hostname ?? `nsbox-${crypto.randomBytes(4).toString('hex')}`;
  if (typeof hostname !== 'string' || !HOSTNAME.test(hostname)) {
    throw new OptionError(label('hostname'), hostname, 'expected 1 to 64 letters, digits, dots and hyphens, not starting or ending with a hyphen');
  }
  const network = oneOf(label('network'), options.network, ['host', 'loopback'], 'host');
  const identity = oneOf(label('identity'), options.identity, ['caller', 'root'], 'caller');
  // Unbounded, a tmpfs may take half the host's memory, per mount and per sandbox: a few files that
  // fill their /tmp would take the host's memory where a stock runner writes to disk. By default
  // /tmp and /dev/shm get an eighth of the host's memory each, a quarter together.
  const tmpfsSize = parseSize(label('tmpfsSize'), options.tmpfsSize) ?? defaultTmpfsSize();

  const tmpfs = [{ path: '/tmp', size: tmpfsSize, mode: '1777' }];
  if (fs.existsSync('/dev/shm') && fs.statSync('/dev/shm').isDirectory()) tmpfs.push({ path: '/dev/shm', size: tmpfsSize, mode: '1777' });
  for (const entry of list(label('tmpfs'), options.tmpfs)) {
    const colon = entry.indexOf(':');
    const target = existingAbsolute(label('tmpfs'), colon < 0 ? entry : entry.slice(0, colon), 'mount point');
    if (target === '/') throw new OptionError(label('tmpfs'), entry, 'the mount point cannot be /');
    if (!fs.statSync(target).isDirectory()) throw new OptionError(label('tmpfs'), entry, 'the mount point must be a directory');
    const size = colon < 0 ? tmpfsSize : (parseSize(label('tmpfs'), entry.slice(colon + 1)) ?? tmpfsSize);
    tmpfs.push({ path: target, size, mode: '1777' });
  }

  const bind = [
    ...list(label('bind'), options.bind).map((e) => parseBind(label('bind'), e, false, tmpfs.map((t) => t.path))),
    ...list(label('roBind'), options.roBind).map((e) => parseBind(label('roBind'), e, true, tmpfs.map((t) => t.path))),
  ];

  if (options.readOnly !== undefined && typeof options.readOnly !== 'boolean') {
    throw new OptionError(label('readOnly'), options.readOnly, 'expected true or false');
  }
  const readOnly = options.readOnly ?? false;
  const writable = list(label('writable'), options.writable).map((p) => existingAbsolute(label('writable'), p));
  if (writable.length > 0 && !readOnly) {
    throw new OptionError(label('writable'), options.writable, `only means something with ${label('readOnly')} set; add it or drop the writable list`);
  }

  const timeout = options.timeout;
  if (timeout !== undefined && (typeof timeout !== 'number' || !Number.isFinite(timeout) || timeout <= 0 || timeout > 2 ** 31 - 1)) {
    throw new OptionError(label('timeout'), timeout, 'expected a positive number of milliseconds');
  }
  const expose = list(label('expose'), options.expose).map((p) => existingAbsolute(label('expose'), p));
  if (options.memoryMax !== undefined && !(typeof options.memoryMax === 'string' && /^[1-9][0-9]*[KMG]?$/i.test(options.memoryMax))) {
    throw new OptionError(label('memoryMax'), options.memoryMax, "expected a size such as '512M' or '2G'");
  }
  if (options.pidsMax !== undefined && !(Number.isInteger(options.pidsMax) && options.pidsMax > 0)) {
    throw new OptionError(label('pidsMax'), options.pidsMax, 'expected a positive whole number of processes');
  }
  if (options.cpuMax !== undefined && !(typeof options.cpuMax === 'number' && Number.isFinite(options.cpuMax) && options.cpuMax >= 0.01 && options.cpuMax <= 1024)) {
    throw new OptionError(label('cpuMax'), options.cpuMax, 'expected a share of one CPU from 0.01 to 1024, such as 0.5 (half a CPU) or 2');
  }
  if (options.stats !== undefined && typeof options.stats !== 'boolean') throw new OptionError(label('stats'), options.stats, 'expected true or false');
  const limits: Limits = { memoryMax: options.memoryMax, pidsMax: options.pidsMax, cpuMax: options.cpuMax, stats: options.stats };
  if (limits.memoryMax !== undefined || limits.pidsMax !== undefined || limits.cpuMax !== undefined) checkLimits(limits, label);

  const realRoot = process.getuid?.() === 0;
  return {
    identity,
    timeout,
    limits,
    config: {
      hostname,
      network,
      tmpfs,
      bind,
      readOnly,
      writable,
      expose,
      dropCapabilities: !realRoot && identity === 'caller',
      dropCapability: capabilitiesToDrop(realRoot, identity, readOnly),
      restoreEnv: {},
      parentNamespaces: namespaceIds(),
    },
  };
}
