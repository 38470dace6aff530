// Mount steps. Order matters: paths are opened before a tmpfs hides them, the host is made read-only
// before the sandbox's own mounts are added, and the new mounts are made on top.
import fs = require('node:fs');
import path = require('node:path');
import { MS_BIND, MS_NODEV, MS_NOSUID, MS_REC, MOUNT_ATTR_RDONLY, O_PATH, mount, mountSetattr } from './ffi.cjs';
import { SetupError } from '../errors.cjs';
import type { SandboxConfig } from '../protocol.cjs';

/** A path opened before it gets hidden, so it can be bind-mounted back from /proc/self/fd. */
export interface HeldPath {
  path: string;
  fd: number;
  isDirectory: boolean;
}

function isUnder(child: string, parent: string): boolean {
  return child === parent || child.startsWith(parent.endsWith('/') ? parent : `${parent}/`);
}

function hold(paths: string[]): HeldPath[] {
  return paths.map((p) => {
    const fd = fs.openSync(p, O_PATH);
    return { path: p, fd, isDirectory: fs.fstatSync(fd).isDirectory() };
  });
}

/** Keeps only the outermost of nested paths: re-exposing a parent already brings its children back. */
function outermost(paths: string[]): string[] {
  const unique = [...new Set(paths.map((p) => path.resolve(p)))].sort();
  return unique.filter((p) => !unique.some((other) => other !== p && isUnder(p, other)));
}

export function holdHiddenPaths(config: SandboxConfig): HeldPath[] {
  // A path that is itself a tmpfs mount point stays the tmpfs: that is what was asked for.
  const hidden = config.expose.filter((p) => config.tmpfs.some((t) => isUnder(p, t.path)) && !config.tmpfs.some((t) => t.path === p));
  return hold(outermost(hidden).filter((p) => fs.existsSync(p)));
}

export function holdWritablePaths(config: SandboxConfig): HeldPath[] {
  return config.readOnly ? hold(outermost(config.writable)) : [];
}

/** Bind sources are opened early too: a source under /tmp is hidden once the tmpfs is mounted. */
export function holdBindSources(config: SandboxConfig): HeldPath[] {
  return hold(config.bind.map((b) => b.source));
}

function bindHeld(step: string, held: HeldPath, target = held.path): void {
  if (!fs.existsSync(target)) {
    if (held.isDirectory) fs.mkdirSync(target, { recursive: true });
    else {
      fs.mkdirSync(path.dirname(target), { recursive: true });
      fs.writeFileSync(target, '');
    }
  }
  mount(step, `/proc/self/fd/${held.fd}`, target, null, MS_BIND | MS_REC, null);
  fs.closeSync(held.fd);
}

export function makeHostReadOnly(config: SandboxConfig): void {
  if (!config.readOnly) return;
  mountSetattr('read-only host', '/', MOUNT_ATTR_RDONLY, 0, true);
}

export function mountTmpfs(config: SandboxConfig): void {
  for (const { path: target, size, mode } of config.tmpfs) {
    // A mount point under an earlier tmpfs (say /tmp/x) is gone from the fresh tmpfs: make it there.
    if (!fs.existsSync(target)) fs.mkdirSync(target, { recursive: true });
    const data = size ? `mode=${mode},size=${size}` : `mode=${mode}`;
    mount('tmpfs', 'tmpfs', target, 'tmpfs', MS_NOSUID | MS_NODEV, data);
  }
}

export function reexposeHiddenPaths(held: HeldPath[]): void {
  for (const entry of held) bindHeld('re-expose', entry);
}

/** Mounted after the tmpfs and re-exposed paths, so a writable path under /tmp ends up on top. */
export function allowWrites(held: HeldPath[]): void {
  for (const entry of held) {
    bindHeld('writable path', entry);
    mountSetattr('writable path', entry.path, 0, MOUNT_ATTR_RDONLY, true);
  }
}

export function bindPaths(config: SandboxConfig, sources: HeldPath[]): void {
  config.bind.forEach(({ target, readOnly }, i) => {
    bindHeld('bind', sources[i], target);
    if (readOnly) mountSetattr('bind', target, MOUNT_ATTR_RDONLY, 0, true);
  });
}

/** The working directory as a path, taken before the mounts; undefined if it is gone (deleted). */
export function workingDirectory(): string | undefined {
  try {
    return process.cwd();
  } catch {
    return undefined;
  }
}

/**
 * A process keeps its working directory through mounts: one that was /tmp (or any path the sandbox
 * mounts over) would still be the host's directory underneath, listed and written from inside. So the
 * same path is entered again once the mounts are in place, through the sandbox's own.
 */
export function reenterWorkingDirectory(cwd: string | undefined): void {
  if (cwd === undefined) return;
  try {
    process.chdir(cwd);
  } catch (error) {
    const errno = (error as NodeJS.ErrnoException).code ?? 'EIO';
    throw new SetupError('working directory', `chdir(${JSON.stringify(cwd)})`, errno, 'a bind or tmpfs mount of the sandbox hides the working directory');
  }
}
