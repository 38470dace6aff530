// Hosts that cannot create sandboxes, simulated without touching the real host's settings.
import fs from 'node:fs';
import path from 'node:path';
import { CORE, asRootReaching, type Result } from './helpers.js';

const SECCOMP = path.join(CORE, 'test/fixtures/seccomp-deny.cjs');
const USERNS_OFF = path.join(CORE, 'test/fixtures/userns-off.cjs');

/** In the checkout, not /tmp: a sandbox that runs the simulated host has a private /tmp. */
function binDir(name: string, files: Record<string, string>): string {
  const dir = fs.mkdtempSync(path.join(CORE, 'test', `.tmp-${name}-`));
  fs.chmodSync(dir, 0o755);
  fs.symlinkSync(process.execPath, path.join(dir, 'node'));
  for (const [file, body] of Object.entries(files)) fs.writeFileSync(path.join(dir, file), body, { mode: 0o755 });
  return dir;
}

export interface SimulatedHost {
  name: string;
  /** Wraps a command so that it runs on the simulated host. */
  wrap(command: string[]): string[];
  env: NodeJS.ProcessEnv;
  cause: RegExp;
  fix: RegExp;
}

/** A PATH with Node but no util-linux. */
export function withoutUtilLinux(): SimulatedHost {
  return { name: 'util-linux missing', wrap: (c) => c, env: { PATH: binDir('no-util-linux', {}) }, cause: /'unshare' is not on PATH/, fix: /install util-linux 2\.38 or later/ };
}

/** An unshare that reports util-linux 2.31. */
export function oldUtilLinux(): SimulatedHost {
  const dir = binDir('old-util-linux', { unshare: '#!/bin/sh\necho "unshare from util-linux 2.31.1"\n', setpriv: '#!/bin/sh\nexec /usr/bin/setpriv "$@"\n' });
  return { name: 'util-linux too old', wrap: (c) => c, env: { PATH: `${dir}:${process.env.PATH}` }, cause: /util-linux 2\.31 is too old/, fix: /install util-linux 2\.38 or later/ };
}

/** A real seccomp filter that denies unshare and mount with EPERM, as Docker's default profile does. */
export function seccompDenied(): SimulatedHost {
  return { name: 'seccomp denies unshare', wrap: (c) => [process.execPath, SECCOMP, 'unshare', 'mount', '--', ...c], env: {}, cause: /seccomp filter .* blocks unshare or mount/, fix: /--security-opt seccomp=unconfined/ };
}

/**
 * unshare works but the new namespace has no capabilities, as under AppArmor's user namespace
 * restriction (or for root in an unprivileged container): util-linux's unshare, with the command
 * started under `setpriv` that clears every capability set.
 */
export function capabilitiesStripped(root: boolean): SimulatedHost {
  const wrapper = `#!/bin/sh
[ "$1" = --version ] && exec /usr/bin/unshare --version
for a do
  shift
  if [ "$a" = -- ] && [ -z "$done" ]; then done=1; set -- "$@" -- /usr/bin/setpriv --inh-caps=-all --ambient-caps=-all --bounding-set=-all --
  else set -- "$@" "$a"; fi
done
exec /usr/bin/unshare "$@"
`;
  const dir = binDir('caps-stripped', { unshare: wrapper, setpriv: '#!/bin/sh\nexec /usr/bin/setpriv "$@"\n' });
  return root
    ? { name: 'root without CAP_SYS_ADMIN', wrap: (c) => c, env: { PATH: `${dir}:${process.env.PATH}` }, cause: /lacks CAP_SYS_ADMIN/, fix: /--privileged/ }
    : { name: 'AppArmor-style capability stripping', wrap: (c) => c, env: { PATH: `${dir}:${process.env.PATH}` }, cause: /new user namespaces get no capabilities here: AppArmor/, fix: /apparmor_restrict_unprivileged_userns=0/ };
}

/**
 * user.max_user_namespaces = 0, for an unprivileged user: the fixture sets it inside a nested user
 * namespace (the setting is per user namespace), where the command then runs as uid 65534.
 */
export function runWithUserNamespacesOff(command: string[]): Promise<Result> {
  return asRootReaching([process.execPath, USERNS_OFF, ...command]);
}

export function cleanupHost(host: SimulatedHost): void {
  const dir = host.env.PATH?.split(':')[0];
  if (dir?.includes('/.tmp-')) fs.rmSync(dir, { recursive: true, force: true });
}
