// A sandbox's /tmp and /dev/shm are memory (tmpfs) of a bounded size, where a stock runner's files
// write to disk: a file that fills one must hear it, with the mount, its size and the option that
// raises it. Read from the host when the command has ended and before the sandbox is torn down, through
// the init's view of its mounts (/proc/INIT/root).
import fs from 'node:fs';

export interface FullTmpfs {
  /** The mount point inside the sandbox. */
  mount: string;
  /** Its size in bytes. */
  size: number;
}

/** The sandbox's tmpfs mounts with no space left, as the init sees them; [] when none is, or when they cannot be read. */
export function fullTmpfsOf(initPid: number | undefined, mounts: readonly string[]): FullTmpfs[] {
  if (initPid === undefined) return [];
  return mounts.flatMap((mount) => {
    try {
      const stats = fs.statfsSync(`/proc/${initPid}/root${mount}`);
      return stats.blocks > 0 && stats.bavail === 0 ? [{ mount, size: stats.blocks * stats.bsize }] : [];
    } catch {
      return []; // gone, or not ours to look into
    }
  });
}

function mebibytes(bytes: number): string {
  return bytes >= 1 << 30 ? `${(bytes / (1 << 30)).toFixed(1)} GiB` : `${Math.round(bytes / (1 << 20))} MiB`;
}

/** One line per full mount: "FILE filled its /tmp (3.0 GiB, a tmpfs in memory): raise OPTION ...". */
export function fullTmpfsLines(what: string, full: readonly FullTmpfs[], option: string, memoryLimited: boolean): string[] {
  return full.map(
    ({ mount, size }) =>
      `${what} filled its ${mount} (${mebibytes(size)}, a tmpfs in memory): writes there failed with ENOSPC once it was full; raise it with ${option}` +
      (memoryLimited ? ', and memoryMax with it: the tmpfs pages count against the memory limit' : ''),
  );
}
