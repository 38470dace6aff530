// The sandbox's own hostname, which also resolves inside: its own /etc/hostname and an /etc/hosts
// line, bind-mounted over the host's files (the way Docker does it).
import fs = require('node:fs');
import { MS_BIND, MS_NODEV, MS_NOEXEC, MS_NOSUID, check, mount, sys } from './ffi.cjs';
import type { SandboxConfig } from '../protocol.cjs';

/**
 * The files live in a small tmpfs mounted on /tmp before the sandbox's real /tmp covers it: they stay
 * linked (a sandbox started inside this one can mount over them) yet nobody inside can see them.
 */
const STAGING = '/tmp';

function hostsFile(hostname: string): string {
  let host = '';
  try {
    host = fs.readFileSync('/etc/hosts', 'utf8');
  } catch {
    host = '127.0.0.1\tlocalhost\n::1\tlocalhost ip6-localhost ip6-loopback\n';
  }
  const kept = host.split('\n').filter((line) => !/^\s*127\.0\.1\.1\s/.test(line)).join('\n').trimEnd();
  return `${kept}\n127.0.1.1\t${hostname}\n`;
}

/** Must run before the /tmp tmpfs is mounted. */
export function overlayHostFiles(config: SandboxConfig): void {
  const files = [
    ['/etc/hostname', `${config.hostname}\n`],
    ['/etc/hosts', hostsFile(config.hostname)],
  ].filter(([target]) => fs.existsSync(target));
  if (files.length === 0) return;
  mount('hostname', 'tmpfs', STAGING, 'tmpfs', MS_NOSUID | MS_NODEV | MS_NOEXEC, 'size=64k,mode=755');
  for (const [target, content] of files) {
    const staged = `${STAGING}/${target.replaceAll('/', '_')}`;
    fs.writeFileSync(staged, content, { mode: 0o644 });
    mount('hostname', staged, target, null, MS_BIND, null);
  }
}

export function setHostname(config: SandboxConfig): void {
  const length = Buffer.byteLength(config.hostname);
  check(sys().sethostname(config.hostname, length), 'hostname', `sethostname(${JSON.stringify(config.hostname)})`);
}
