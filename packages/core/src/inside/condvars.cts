// A fork copies one thread and every lock as it was. The zygote's idle threads (V8's platform workers,
// whose task queue V8 signals) sleep on condition variables; in a forked process those sleepers do not
// exist, but the condition variables still count them. With glibc before 2.41, pthread_cond_signal
// then waits for the missing sleepers to acknowledge a group switch, forever: on Node 20 every full GC
// in a forked file posts a weak-reference clearing job to the platform's workers and hangs there
// (FINDINGS, "Deadlock on Node 20"). Node 22 and later do not post that job under --single-threaded,
// and glibc 2.41 removed the wait, but any other signal of such a condition variable would hang too.
//
// So the zygote notes, right before each fork, which condition variables its other threads sleep on
// (from /proc: a thread blocked in futex(2) shows the futex word, one of the condition variable's two
// group signal words), and the forked process, which has one thread and a frozen copy of that memory,
// resets each one to PTHREAD_COND_INITIALIZER (all zeros) after checking that its waiter counts are
// exactly the sleepers seen. A reset condition variable has no waiters: a signal returns at once, and
// the task it announced stays queued for threads that never come. V8 then runs the job on the main
// thread when it joins it.
import fs = require('node:fs');
import { sys } from './ffi.cjs';

const FUTEX_SYSCALL: Record<string, number> = { x64: 202, arm64: 98 };
const FUTEX_CMD_MASK = 0x7f; // without FUTEX_PRIVATE_FLAG and FUTEX_CLOCK_REALTIME
const FUTEX_WAIT = 0;
const FUTEX_WAIT_BITSET = 9;

// glibc 2.25 to 2.40, struct __pthread_cond_s (48 bytes, 8-aligned): __wseq (u64) at 0, __g1_start
// (u64) at 8, __g_refs[2] at 16, __g_size[2] at 24, __g1_orig_size at 32, __wrefs at 36, __g_signals[2]
// at 40. A sleeper in group g waits on __g_signals[g] and holds 2 in __g_refs[g]; every waiter holds 8
// in __wrefs. glibc 2.41 changed the layout and no longer waits for sleepers when it signals.
const COND_SIZE = 48;
const G_REFS = 16;
const WREFS = 36;
const G_SIGNALS = 40;

/** A condition variable that threads of this process sleep on, with the number of sleepers per group. */
export interface SleptOn {
  address: bigint;
  sleepers: [number, number];
}

let libcVersion: [number, number] | undefined;

/** Whether this glibc's pthread_cond_signal can wait for sleepers (2.25 to 2.40, the layout above). */
function signalCanWait(): boolean {
  libcVersion ??= (String(sys().gnu_get_libc_version()).match(/^(\d+)\.(\d+)/)?.slice(1, 3).map(Number) as [number, number] | undefined) ?? [0, 0];
  const [major, minor] = libcVersion;
  return major === 2 && minor >= 25 && minor <= 40;
}

/**
 * In the zygote, right before a fork: the condition variables that this process's other threads are
 * blocked on. Empty where a signal cannot wait for sleepers, or on an unknown architecture.
 */
export function sleptOnCondvars(): SleptOn[] {
  const futex = FUTEX_SYSCALL[process.arch];
  if (futex === undefined || !signalCanWait()) return [];
  const found = new Map<bigint, SleptOn>();
  let tasks: string[];
  try {
    tasks = fs.readdirSync('/proc/self/task');
  } catch {
    return [];
  }
  const self = String(sys().getpid());
  for (const task of tasks) {
    if (task === self) continue;
    let fields: string[];
    try {
      fields = fs.readFileSync(`/proc/self/task/${task}/syscall`, 'utf8').trim().split(' ');
    } catch {
      continue; // ended meanwhile
    }
    if (Number(fields[0]) !== futex) continue;
    const command = Number(fields[2]) & FUTEX_CMD_MASK;
    if (command !== FUTEX_WAIT && command !== FUTEX_WAIT_BITSET) continue;
    const word = BigInt(fields[1]);
    // __g_signals[0] is 8-aligned, __g_signals[1] the word after it.
    const group = word % 8n === 0n ? 0 : 1;
    const address = word - BigInt(G_SIGNALS + 4 * group);
    const entry = found.get(address) ?? { address, sleepers: [0, 0] };
    entry.sleepers[group]++;
    found.set(address, entry);
  }
  return [...found.values()];
}

/**
 * In a forked process (one thread, the memory as it was at the fork): resets each condition variable
 * whose counts are exactly its sleepers', so no signal waits for them. Anything else found blocked on a
 * futex (a semaphore, a mutex) does not match the counts and is left alone. Returns how many were reset.
 */
export function forgetSleepers(slept: readonly SleptOn[]): number {
  const libc = sys();
  let reset = 0;
  for (const { address, sleepers } of slept) {
    const cond = Buffer.alloc(COND_SIZE);
    libc.peek(cond, address, COND_SIZE);
    const refs = [cond.readUInt32LE(G_REFS) >>> 1, cond.readUInt32LE(G_REFS + 4) >>> 1];
    const waiters = cond.readUInt32LE(WREFS) >>> 3;
    if (refs[0] !== sleepers[0] || refs[1] !== sleepers[1] || waiters !== sleepers[0] + sleepers[1]) continue;
    libc.poke(address, Buffer.alloc(COND_SIZE), COND_SIZE);
    reset++;
  }
  return reset;
}
