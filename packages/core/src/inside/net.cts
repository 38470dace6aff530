// A new network namespace has lo DOWN: connecting to 127.0.0.1 gives ENETUNREACH until it is up.
import { AF_INET, IFF_UP, SIOCGIFFLAGS, SIOCSIFFLAGS, SOCK_CLOEXEC, SOCK_DGRAM, check, sys } from './ffi.cjs';
import type { SandboxConfig } from '../protocol.cjs';

export function bringUpLoopback(config: SandboxConfig): void {
  if (config.network !== 'loopback') return;
  const libc = sys();
  const fd = libc.socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0);
  check(fd, 'loopback', 'socket(AF_INET, SOCK_DGRAM)');
  try {
    const ifreq = Buffer.alloc(40); // struct ifreq: name at 0, short flags at 16
    ifreq.write('lo', 0, 'latin1');
    check(libc.ioctl(fd, SIOCGIFFLAGS, 'void *', ifreq), 'loopback', 'ioctl(lo, SIOCGIFFLAGS)');
    ifreq.writeInt16LE(ifreq.readInt16LE(16) | IFF_UP, 16);
    check(libc.ioctl(fd, SIOCSIFFLAGS, 'void *', ifreq), 'loopback', 'ioctl(lo, SIOCSIFFLAGS, IFF_UP)');
  } finally {
    libc.close(fd);
  }
}
