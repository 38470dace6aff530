// What makes a warm Node process forkable (FINDINGS, "Forking a warm Node process"): V8 marks its heap
// pages MADV_DONTFORK, so a forked child has no heap and dies on its first JS step. Clearing the marks
// once is not enough (V8 maps and marks fresh pages all the time, even while the marks are being
// cleared), so a seccomp filter first turns every later madvise(MADV_DONTFORK) into a successful no-op,
// then one MADV_DOFORK pass clears the marks made before it. After that any fork() keeps the heap.
import fs = require('node:fs');
import koffi = require('koffi');
import { PR_SET_NO_NEW_PRIVS, check, errnoName, prctl, sys } from './ffi.cjs';

const MADV_DONTFORK = 10;
const MADV_DOFORK = 11;
const SECCOMP_SET_MODE_FILTER = 1;
const SECCOMP_FILTER_FLAG_TSYNC = 1;
const SECCOMP_RET_ERRNO = 0x00050000; // with errno 0: the call is skipped and returns 0
const SECCOMP_RET_ALLOW = 0x7fff0000;
const BPF_LD_W_ABS = 0x20;
const BPF_JEQ_K = 0x15;
const BPF_RET_K = 0x06;
// struct seccomp_data { int nr; u32 arch; u64 instruction_pointer; u64 args[6]; }, little-endian
const NR_OFFSET = 0;
const ARCH_OFFSET = 4;
const ARG2_LOW_OFFSET = 16 + 2 * 8;

const ARCHES: Record<string, { audit: number; seccomp: number; madvise: number }> = {
  x64: { audit: 0xc000003e, seccomp: 317, madvise: 28 },
  arm64: { audit: 0xc00000b7, seccomp: 277, madvise: 233 },
};

function arch() {
  const found = ARCHES[process.arch];
  if (!found) throw new Error(`the zygote supports x64 and arm64 only, not ${process.arch}`);
  return found;
}

// Kept referenced for the life of the process: the kernel copies the program, but be safe.
let program: Buffer | undefined;

/** madvise(..., MADV_DONTFORK) returns 0 and does nothing, in every thread, from now on and in every child. */
export function neutralizeDontfork(): void {
  const { audit, seccomp, madvise } = arch();
  const instructions: [number, number, number, number][] = [
    [BPF_LD_W_ABS, 0, 0, ARCH_OFFSET],
    [BPF_JEQ_K, 0, 5, audit], // another ABI: allow
    [BPF_LD_W_ABS, 0, 0, NR_OFFSET],
    [BPF_JEQ_K, 0, 3, madvise], // another call: allow
    [BPF_LD_W_ABS, 0, 0, ARG2_LOW_OFFSET],
    [BPF_JEQ_K, 0, 1, MADV_DONTFORK], // another advice: allow
    [BPF_RET_K, 0, 0, SECCOMP_RET_ERRNO],
    [BPF_RET_K, 0, 0, SECCOMP_RET_ALLOW],
  ];
  program = Buffer.alloc(8 * instructions.length); // struct sock_filter { u16 code; u8 jt; u8 jf; u32 k; }
  instructions.forEach(([code, jt, jf, k], i) => {
    program!.writeUInt16LE(code, i * 8);
    program!.writeUInt8(jt, i * 8 + 2);
    program!.writeUInt8(jf, i * 8 + 3);
    program!.writeUInt32LE(k >>> 0, i * 8 + 4);
  });
  const fprog = Buffer.alloc(16); // struct sock_fprog { unsigned short len; struct sock_filter *filter; }
  fprog.writeUInt16LE(instructions.length, 0);
  fprog.writeBigUInt64LE(koffi.address(program), 8);
  const install = () => sys().syscall(seccomp, 'int', SECCOMP_SET_MODE_FILTER, 'unsigned int', SECCOMP_FILTER_FLAG_TSYNC, 'void *', fprog);
  let result = install();
  // Without CAP_SYS_ADMIN in its user namespace a process may install a filter only under
  // no_new_privs. The zygote normally has the capability (real root, or --keep-caps in its own user
  // namespace), and no_new_privs would also reach every test process, so it is the fallback only.
  if (Number(result) === -1 && errnoName(koffi.errno()) === 'EACCES') {
    prctl('zygote', PR_SET_NO_NEW_PRIVS, 1);
    result = install();
  }
  check(result, 'zygote', 'seccomp(SECCOMP_SET_MODE_FILTER, TSYNC, madvise(MADV_DONTFORK) -> 0)');
}

/** Clears MADV_DONTFORK from every region that has it (`dc` in VmFlags). Returns how many there were. */
export function clearDontfork(): number {
  const { madvise } = arch();
  let start = 0n;
  let end = 0n;
  let cleared = 0;
  for (const line of fs.readFileSync('/proc/self/smaps', 'utf8').split('\n')) {
    const range = /^([0-9a-f]+)-([0-9a-f]+) /.exec(line);
    if (range) {
      start = BigInt(`0x${range[1]}`);
      end = BigInt(`0x${range[2]}`);
    } else if (line.startsWith('VmFlags:') && / dc(?= |$)/.test(line)) {
      const result = sys().syscall(madvise, 'uint64', start, 'uint64', end - start, 'int', MADV_DOFORK);
      check(result, 'zygote', `madvise(0x${start.toString(16)}, ${end - start}, MADV_DOFORK)`);
      cleared++;
    }
  }
  return cleared;
}
