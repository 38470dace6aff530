// Every kernel call nsbox makes, declared in one place. Loaded only inside a sandbox, on the main
// thread, synchronously: namespaces, capabilities and signal state are per thread, so never use
// koffi's async calls here.
import koffi = require('koffi');
import { SetupError } from '../errors.cjs';

export const MS_RDONLY = 0x1;
export const MS_NOSUID = 0x2;
export const MS_NODEV = 0x4;
export const MS_NOEXEC = 0x8;
export const MS_REMOUNT = 0x20;
export const MS_BIND = 0x1000;
export const MS_REC = 0x4000;
export const MOUNT_ATTR_RDONLY = 0x1;
export const AT_FDCWD = -100;
export const AT_RECURSIVE = 0x8000;
export const O_PATH = 0o10000000;
export const PR_SET_PDEATHSIG = 1;
export const PR_CAPBSET_DROP = 24;
export const PR_CAP_AMBIENT = 47;
export const PR_CAP_AMBIENT_CLEAR_ALL = 4;
export const SIOCGIFFLAGS = 0x8913;
export const SIOCSIFFLAGS = 0x8914;
export const IFF_UP = 0x1;
export const AF_INET = 2;
export const SOCK_DGRAM = 2;
export const SOCK_CLOEXEC = 0o2000000;
export const F_SETFD = 2;
export const SIG_SETMASK = 2;
// For the zygote (zygote.cts, fork.cts, init.cts, seccomp.cts).
export const CLONE_NEWNS = 0x00020000;
export const CLONE_NEWUTS = 0x04000000;
export const CLONE_NEWIPC = 0x08000000;
export const CLONE_NEWPID = 0x20000000;
export const CLONE_NEWNET = 0x40000000;
export const MS_PRIVATE = 1 << 18;
export const AF_UNIX = 1;
export const SOCK_STREAM = 1;
export const PR_SET_NO_NEW_PRIVS = 38;
export const SIGKILL = 9;
export const SIGCHLD = 17;
export const EINTR = 4;
/** glibc's struct sigaction is 152 bytes on x86-64 and arm64; room to spare. */
export const SIGACTION_SIZE = 256;
const LINUX_CAPABILITY_VERSION_3 = 0x20080522;
// mount_setattr has the same number on every architecture Node supports (the unified table since 5.x).
const SYS_mount_setattr = 442;

type Libc = ReturnType<typeof bind>;
let libc: Libc | undefined;

function bind() {
  const lib = koffi.load('libc.so.6');
  return {
    mount: lib.func('int mount(const char *source, const char *target, const char *fstype, unsigned long flags, const char *data)'),
    umount2: lib.func('int umount2(const char *target, int flags)'),
    sethostname: lib.func('int sethostname(const char *name, size_t len)'),
    prctl: lib.func('int prctl(int option, ...)'),
    syscall: lib.func('long syscall(long number, ...)'),
    ioctl: lib.func('int ioctl(int fd, unsigned long request, ...)'),
    socket: lib.func('int socket(int domain, int type, int protocol)'),
    close: lib.func('int close(int fd)'),
    fcntl: lib.func('int fcntl(int fd, int cmd, ...)'),
    capset: lib.func('int capset(void *header, void *data)'),
    capget: lib.func('int capget(void *header, void *data)'),
    signal: lib.func('void *signal(int signum, void *handler)'),
    sigprocmask: lib.func('int sigprocmask(int how, void *set, void *oldset)'),
    execve: lib.func('int execve(const char *path, const char **argv, const char **envp)'),
    // The zygote's calls. fork() through glibc (not a raw clone) so that its at-fork handlers run:
    // malloc's locks, libuv's thread pool reset, OpenSSL's fork detection.
    fork: lib.func('int fork()'),
    _exit: lib.func('void _exit(int status)'),
    fflush: lib.func('int fflush(void *stream)'),
    getpid: lib.func('int getpid()'),
    getppid: lib.func('int getppid()'),
    waitpid: lib.func('int waitpid(int pid, _Out_ int *status, int options)'),
    unshare: lib.func('int unshare(int flags)'),
    dup2: lib.func('int dup2(int oldfd, int newfd)'),
    connect: lib.func('int connect(int fd, const void *addr, uint32_t len)'),
    sigaction: lib.func('int sigaction(int signum, const void *act, void *oldact)'),
    socketpair: lib.func('int socketpair(int domain, int type, int protocol, void *fds)'),
    // Raw memory, by address: a forked process repairs state that fork() copied stale (condvars.cts).
    peek: lib.func('memcpy', 'void *', ['void *', 'uintptr_t', 'size_t']),
    poke: lib.func('memcpy', 'void *', ['uintptr_t', 'void *', 'size_t']),
    gnu_get_libc_version: lib.func('const char *gnu_get_libc_version()'),
  };
}

type Node = ReturnType<typeof bindNode>;
let node: Node | undefined;

/** Node's own exported libuv symbols (koffi.load(null) is the running binary). */
function bindNode() {
  const self = koffi.load(null);
  return {
    uv_default_loop: self.func('void *uv_default_loop()'),
    uv_loop_fork: self.func('int uv_loop_fork(void *loop)'),
  };
}

/**
 * After fork() only the calling thread exists and the event loop still shares the parent's epoll
 * instance: libuv re-creates it and re-registers every watcher here. First thing a forked child does.
 */
export function uvLoopFork(): number {
  node ??= bindNode();
  return node.uv_loop_fork(node.uv_default_loop());
}

/**
 * What keeps the default loop alive, as uv_loop_alive() counts it: active ref'd handles and requests
 * (uv_loop_t: void *data; unsigned active_handles at 8; a queue; active_reqs.count at 32).
 */
export function loopActivity(): { handles: number; requests: number } {
  node ??= bindNode();
  const loop = node.uv_default_loop();
  return { handles: koffi.decode(loop, 8, 'uint32') as number, requests: koffi.decode(loop, 32, 'uint32') as number };
}

/** Ends a forked process at once: Node's own teardown (process.exit, the end of the loop) crashes or hangs in a forked child. */
export function exitNow(status: number): never {
  // What native code wrote through C's stdio (V8's --trace-gc, an addon's printf) is still in libc's
  // buffers, which exit() would flush and _exit() does not.
  sys().fflush(null);
  sys()._exit(status);
  throw new Error('unreachable');
}

export function sys(): Libc {
  return (libc ??= bind());
}

export function errnoName(errno: number): string {
  for (const [name, value] of Object.entries(koffi.os.errno)) if (value === errno) return name;
  return `errno ${errno}`;
}

/** Turns a -1 return into a SetupError naming the step, the call as written and errno. */
export function check(result: number | bigint, step: string, call: string, hint?: (errno: string) => string | undefined): void {
  if (Number(result) !== -1) return;
  const name = errnoName(koffi.errno());
  throw new SetupError(step, call, name, hint?.(name));
}

export function mount(step: string, source: string | null, target: string, fstype: string | null, flags: number, data: string | null): void {
  const call = `mount(${JSON.stringify(source)}, ${JSON.stringify(target)}, ${JSON.stringify(fstype)}, 0x${flags.toString(16)}, ${JSON.stringify(data)})`;
  check(sys().mount(source, target, fstype, flags, data), step, call, (e) =>
    e === 'EPERM' ? 'no capability in this namespace: an AppArmor or seccomp policy may strip it; run `nsbox doctor`' : undefined,
  );
}

/** Sets or clears mount attributes on a mount and, when recursive, on every mount below it. */
export function mountSetattr(step: string, path: string, set: number, clear: number, recursive: boolean): void {
  const attr = Buffer.alloc(32); // struct mount_attr { u64 attr_set, attr_clr, propagation, userns_fd }
  attr.writeBigUInt64LE(BigInt(set), 0);
  attr.writeBigUInt64LE(BigInt(clear), 8);
  const flags = recursive ? AT_RECURSIVE : 0;
  const result = sys().syscall(SYS_mount_setattr, 'int', AT_FDCWD, 'const char *', path, 'unsigned int', flags, 'void *', attr, 'size_t', 32);
  check(result, step, `mount_setattr(${JSON.stringify(path)}, set=0x${set.toString(16)}, clear=0x${clear.toString(16)}${recursive ? ', AT_RECURSIVE' : ''})`);
}

export function prctl(step: string, option: number, arg2: number, arg3 = 0): void {
  const result = sys().prctl(option, 'unsigned long', arg2, 'unsigned long', arg3, 'unsigned long', 0, 'unsigned long', 0);
  check(result, step, `prctl(${option}, ${arg2}, ${arg3})`);
}

/** Clears the effective, permitted and inheritable sets of the calling thread. */
export function capsetZero(step: string): void {
  const header = Buffer.alloc(8);
  header.writeUInt32LE(LINUX_CAPABILITY_VERSION_3, 0);
  const data = Buffer.alloc(24); // two struct __user_cap_data_struct, all zero
  check(sys().capset(header, data), step, 'capset(all zero)');
}

/** Clears one capability from the calling thread's effective, permitted and inheritable sets. */
export function capsetClear(step: string, cap: number): void {
  const header = Buffer.alloc(8);
  header.writeUInt32LE(LINUX_CAPABILITY_VERSION_3, 0);
  const data = Buffer.alloc(24);
  check(sys().capget(header, data), step, 'capget()');
  const word = cap >> 5;
  const mask = ~(1 << (cap & 31)) >>> 0;
  for (const field of [0, 4, 8]) {
    const offset = word * 12 + field;
    data.writeUInt32LE((data.readUInt32LE(offset) & mask) >>> 0, offset);
  }
  check(sys().capset(header, data), step, `capset(clear capability ${cap})`);
}
