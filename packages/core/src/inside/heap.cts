// The zygote's heap is what every forked file starts from. Left as it is after loading, V8 is often
// mid-way through an incremental mark when the zygote forks, and every fork then finishes that mark
// of the whole inherited heap itself, single-threaded (FINDINGS: 81 full GCs in 110 forks, 22% of a
// run's CPU). Collected completely once before the first fork, every file starts with its inherited
// heap marked, compacted and swept, and an empty young generation.
import v8 = require('node:v8');
import vm = require('node:vm');

type Gc = () => void;

/**
 * V8's gc() without making it visible: --expose-gc is set only while one context is made (V8 installs
 * gc() in contexts made while the flag is on), then cleared, so the contexts Jest and Vitest make for
 * test files do not get a gc() that a stock worker would not have.
 */
function gcFunction(): Gc {
  const own = (globalThis as { gc?: Gc }).gc;
  if (own) return own;
  v8.setFlagsFromString('--expose-gc');
  try {
    return vm.runInNewContext('gc') as Gc;
  } finally {
    v8.setFlagsFromString('--no-expose-gc');
  }
}

/**
 * Two full collections (gc() without options: Node 20's V8 reads an options object as a request for
 * a young-generation collection): the second frees what the first only made unreachable (weak
 * references, finalizers).
 */
export function settleHeap(): void {
  const gc = gcFunction();
  gc();
  gc();
}
