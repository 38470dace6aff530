// stdout and stderr of a sandboxed Node process.
/**
 * Node writes to a pipe asynchronously on Linux: what the command wrote just before its sandbox is
 * killed (a runner ending a file, a timeout, a crash, a forked process's _exit) would still sit in its
 * memory and be lost. Made blocking, as Node already makes stdout and stderr for files and terminals,
 * every byte written has reached the host when write() returns. Node creates the streams on first use
 * (and opens an fd then), so the switch waits for that use: the process's fds stay numbered as
 * without nsbox, and a process that never prints never pays for them.
 */
export function blockingStdio(): void {
  for (const name of ['stdout', 'stderr'] as const) {
    const original = Object.getOwnPropertyDescriptor(process, name);
    if (!original?.get || !original.configurable) continue;
    Object.defineProperty(process, name, {
      ...original,
      get() {
        Object.defineProperty(process, name, original);
        const stream = original.get!.call(process) as { _handle?: { setBlocking?(blocking: boolean): unknown } };
        stream._handle?.setBlocking?.(true);
        return stream;
      },
    });
  }
}
