// Where `nsbox ps` and `nsbox exec` find the caller's running sandboxes: one small JSON record per
// sandbox, written by the host side that started it into a per-user runtime directory and removed at
// its teardown. There is no daemon: a record only says which host process anchors the sandbox, and
// /proc says whether that process (same pid, same start time) still lives. A record whose anchor is
// gone (its writer was SIGKILLed and could not remove it) is never shown, and is removed by the next
// nsbox that reads or writes the directory.
import crypto from 'node:crypto';
import fs from 'node:fs';
import path from 'node:path';
import { RuntimeDirError } from './errors.cjs';
import { commandOf, initOf, innerPid, isRunning, sandboxProcesses, startTime } from './leftovers.js';

export const RECORD_VERSION = 1;

export interface SandboxRecord {
  version: typeof RECORD_VERSION;
  /** Short random id, what `nsbox exec` takes. */
  id: string;
  /** When the host side started the sandbox (ms since the epoch). */
  created: number;
  /**
   * The host process whose life is the sandbox's: stage 0 (unshare) for a fresh sandbox, the sandbox
   * parent for one forked from a zygote. Its init is its only child. `start` is its start time in
   * clock ticks after boot (/proc/PID/stat field 22): a reused pid never matches it.
   */
  anchor: { pid: number; start: number };
  /** The host process that started the sandbox and wrote this record. */
  owner: { pid: number; start: number };
  /** The command line, or the module a fork runs. */
  command: string;
  /** Test files, once an adapter said which (absolute paths). */
  files?: string[];
  /** The adapter ('jest', 'vitest') and its worker slot. */
  runner?: string;
  slot?: number;
  hostname: string;
  network: string;
  /** Set while a failed file's sandbox is kept for inspection. */
  kept?: { reason: string; until: number };
}

export interface LiveSandbox extends SandboxRecord {
  /** Host pid of the sandbox's PID 1. */
  init: number | undefined;
  /** The command's host pid and its pid inside; undefined once it ended (a kept sandbox). */
  pid: number | undefined;
  innerPid: number | undefined;
  /** Processes in the sandbox, PID 1 excluded. */
  processes: number;
}

const RECORD = /^([0-9a-f]{12})\.json$/;
const uid = (): number => process.getuid?.() ?? -1;

/**
 * `$XDG_RUNTIME_DIR/nsbox` when the session has a runtime directory of this user's, else
 * `/tmp/nsbox-<uid>` (the fixed /tmp, not $TMPDIR: a test runner and the shell that runs `nsbox ps`
 * must agree on it without sharing an environment).
 */
export function runtimeDir(env: NodeJS.ProcessEnv = process.env): string {
  const xdg = env.XDG_RUNTIME_DIR;
  if (xdg && path.isAbsolute(xdg)) {
    try {
      const stat = fs.statSync(xdg);
      if (stat.isDirectory() && stat.uid === uid()) return path.join(xdg, 'nsbox');
    } catch {
      // no such directory: fall back to /tmp
    }
  }
  return `/tmp/nsbox-${uid()}`;
}

/**
 * The directory must be this user's alone: anyone else who could write it could plant a record and
 * have `nsbox exec` join a process of their choosing. A directory that is not so is refused, not fixed.
 */
function checkOwnership(dir: string): void {
  const stat = fs.lstatSync(dir);
  const fix = `remove ${dir} (or set XDG_RUNTIME_DIR to a directory of your own); nsbox recreates it with mode 700`;
  if (stat.isSymbolicLink() || !stat.isDirectory()) throw new RuntimeDirError(dir, 'it is not a directory', fix);
  if (stat.uid !== uid()) throw new RuntimeDirError(dir, `it belongs to uid ${stat.uid}, not to you (uid ${uid()})`, fix);
  if ((stat.mode & 0o077) !== 0) throw new RuntimeDirError(dir, `its mode is ${(stat.mode & 0o777).toString(8)}, so others can reach it`, fix);
}

/** The runtime directory, made if missing; undefined if it does not exist and `create` is false. */
function openDir(create: boolean): string | undefined {
  const dir = runtimeDir();
  if (create) {
    try {
      fs.mkdirSync(dir, { mode: 0o700 });
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code !== 'EEXIST') throw new RuntimeDirError(dir, `it cannot be created: ${(error as Error).message}`, 'make /tmp (or $XDG_RUNTIME_DIR) writable for this user');
    }
  } else if (!fs.existsSync(dir)) {
    return undefined;
  }
  checkOwnership(dir);
  return dir;
}

/** A sandbox is listed while its anchor and its owner both run (a zombie is dead; leftovers.ts). */
function isLive(record: SandboxRecord): boolean {
  return record.anchor.pid > 0 && isRunning(record.anchor.pid, record.anchor.start) && (!record.owner || isRunning(record.owner.pid, record.owner.start));
}

function readRecord(file: string): SandboxRecord | undefined {
  try {
    const record = JSON.parse(fs.readFileSync(file, 'utf8')) as SandboxRecord;
    return record?.version === RECORD_VERSION && typeof record.anchor?.pid === 'number' ? record : undefined;
  } catch {
    return undefined;
  }
}

/** Outside /tmp (under $XDG_RUNTIME_DIR), where sandboxes would see it: every sandbox has a private /tmp. */
function seenBySandboxes(dir: string): boolean {
  return !dir.startsWith('/tmp/');
}

/**
 * Removes the fallback directory once it holds nothing: a run leaves the host as it found it. The one
 * under $XDG_RUNTIME_DIR stays (the session's own tmpfs, emptied at logout): sandboxes hide it by a
 * mount on it, which its removal would undo (see recordsToHide).
 */
function removeIfEmpty(dir: string): void {
  if (seenBySandboxes(dir)) return;
  try {
    fs.rmdirSync(dir);
  } catch {
    // not empty (another sandbox is registered), or already gone
  }
}

/** Every live record of this user, oldest first; stale ones (and unreadable leftovers) are removed. */
export function liveRecords(): SandboxRecord[] {
  const dir = openDir(false);
  if (!dir) return [];
  const live: SandboxRecord[] = [];
  for (const entry of fs.readdirSync(dir)) {
    const file = path.join(dir, entry);
    const record = RECORD.test(entry) ? readRecord(file) : undefined;
    if (record && isLive(record)) live.push(record);
    else if (record || RECORD.test(entry) || entry.endsWith('.tmp')) removeStale(file);
  }
  removeIfEmpty(dir);
  return live.sort((a, b) => a.created - b.created);
}

function removeStale(file: string): void {
  // A half-written `.tmp` of a live writer is at most a moment old; only an old one is a leftover.
  if (file.endsWith('.tmp')) {
    try {
      if (Date.now() - fs.statSync(file).mtimeMs < 60_000) return;
    } catch {
      return;
    }
  }
  fs.rmSync(file, { force: true });
}

/** What `nsbox ps` shows: the record and what /proc says about the sandbox now. */
export function describeSandbox(record: SandboxRecord): LiveSandbox {
  const init = initOf(record.anchor.pid);
  const pid = commandOf(record.anchor.pid);
  return {
    ...record,
    init,
    pid,
    innerPid: pid === undefined ? undefined : innerPid(pid),
    processes: sandboxProcesses(record.anchor.pid).length,
  };
}

export function liveSandboxes(): LiveSandbox[] {
  return liveRecords().map(describeSandbox);
}

/** The live sandbox `id` names (or an unambiguous prefix of it); undefined if none. */
export function findSandbox(id: string): LiveSandbox | LiveSandbox[] | undefined {
  const live = liveRecords();
  const exact = live.find((r) => r.id === id);
  if (exact) return describeSandbox(exact);
  const matches = id.length > 0 ? live.filter((r) => r.id.startsWith(id)) : [];
  if (matches.length === 1) return describeSandbox(matches[0]);
  return matches.length > 1 ? matches.map(describeSandbox) : undefined;
}

/**
 * The records directory when sandboxes would see it, for each sandbox to hide under an empty tmpfs of
 * its own: a test runs as the same user, and could otherwise read every record and write or remove
 * them (list a sandbox that is none, hide one from `nsbox ps`). The fallback under /tmp needs nothing:
 * every sandbox has a private /tmp. The directory is made now if missing, as the mount needs it.
 */
export function recordsToHide(): string | undefined {
  const dir = runtimeDir();
  if (!seenBySandboxes(dir)) return undefined;
  try {
    openDir(true);
  } catch {
    // Refused (not this user's alone) or not creatable: hide it if it exists, nothing is recorded there.
  }
  try {
    return fs.statSync(dir).isDirectory() ? dir : undefined;
  } catch {
    return undefined;
  }
}

export function newSandboxId(): string {
  return crypto.randomBytes(6).toString('hex');
}

export type RecordFields = Omit<SandboxRecord, 'version' | 'id' | 'created' | 'anchor' | 'owner'>;

let warned = false;

/**
 * One sandbox's record, kept up to date by the host side until `remove()`. Registration is best
 * effort: a runtime directory that cannot be used costs `nsbox ps` its view of this process's
 * sandboxes (said once, with the fix), never a sandbox.
 */
export class Registration {
  private record: SandboxRecord | undefined;
  private removed = false;
  private fields: Partial<RecordFields>;

  constructor(readonly id: string, fields: RecordFields) {
    this.fields = fields;
  }

  /** The sandbox exists now: `anchorPid` is its stage 0 or its sandbox parent. */
  anchor(anchorPid: number): void {
    if (this.removed || this.record) return;
    const anchorStart = startTime(anchorPid);
    const ownerStart = startTime(process.pid);
    if (anchorStart === undefined || ownerStart === undefined) return; // already gone: nothing to list
    this.record = {
      version: RECORD_VERSION,
      id: this.id,
      created: Date.now(),
      anchor: { pid: anchorPid, start: anchorStart },
      owner: { pid: process.pid, start: ownerStart },
      ...(this.fields as RecordFields),
    };
    this.write();
  }

  update(fields: Partial<RecordFields>): void {
    this.fields = { ...this.fields, ...fields };
    if (!this.record || this.removed) return;
    this.record = { ...this.record, ...fields };
    this.write();
  }

  remove(): void {
    if (this.removed) return;
    this.removed = true;
    if (!this.record) return;
    const dir = runtimeDir();
    fs.rmSync(path.join(dir, `${this.id}.json`), { force: true });
    removeIfEmpty(dir);
  }

  private write(): void {
    // A concurrent remove() of another sandbox may take the empty directory away between the mkdir
    // and the write: then make it again.
    for (let attempt = 0; ; attempt++) {
      try {
        const dir = openDir(true)!;
        if (attempt === 0) pruneStale(dir);
        const file = path.join(dir, `${this.id}.json`);
        const tmp = `${file}.${process.pid}.tmp`;
        fs.writeFileSync(tmp, `${JSON.stringify(this.record)}\n`, { mode: 0o600 });
        fs.renameSync(tmp, file);
        return;
      } catch (error) {
        if ((error as NodeJS.ErrnoException).code === 'ENOENT' && attempt < 3) continue;
        if (!warned) {
          warned = true;
          const reason = error instanceof RuntimeDirError ? error.message : `writing a record in ${runtimeDir()} failed: ${(error as Error).message}`;
          process.stderr.write(`nsbox: 'nsbox ps' will not list this process's sandboxes: ${reason}\n`);
        }
        return;
      }
    }
  }
}

/** Records of sandboxes that are gone (their writer was killed before it could remove them). */
function pruneStale(dir: string): void {
  for (const entry of fs.readdirSync(dir)) {
    if (!RECORD.test(entry)) continue;
    const file = path.join(dir, entry);
    const record = readRecord(file);
    if (!record || !isLive(record)) fs.rmSync(file, { force: true });
  }
}

/** What an adapter (or a kept sandbox) adds to a record. */
export type Annotation = Partial<Pick<RecordFields, 'files' | 'runner' | 'slot' | 'kept'>>;
