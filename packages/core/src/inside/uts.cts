// The sandbox's own hostname, which also resolves inside: its own /etc/hostname and an /etc/hosts
// line, bind-mounted over the host's files (the way Docker does it).
import fs = require('node:fs');
import { MS_BIND, check, mount, sys } from './ffi.cjs';
import type { SandboxConfig } from '../protocol.cjs';

function overlayFile(target: string, content: string, staging: string): void {
  if (!fs.existsSync(target)) return;
  const file = `${staging}/${target.replaceAll('/', '_')}`;
  fs.writeFileSync(file, content, { mode: 0o644 });
  mount('hostname', file, target, null, MS_BIND, null);
  // The bind mount keeps the file alive; unlinking it leaves nothing behind in the sandbox's /tmp.
  fs.unlinkSync(file);
}

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

export function setHostname(config: SandboxConfig, staging: string): void {
  const name = Buffer.from(config.hostname);
  check(sys().sethostname(config.hostname, name.length), 'hostname', `sethostname(${JSON.stringify(config.hostname)})`);
  fs.mkdirSync(staging, { mode: 0o700 });
  overlayFile('/etc/hostname', `${config.hostname}\n`, staging);
  overlayFile('/etc/hosts', hostsFile(config.hostname), staging);
  fs.rmdirSync(staging);
}
