// The whole in-sandbox recipe, in order. Each step does nothing when not asked for and throws a
// SetupError naming the kernel call and errno when it fails.
import { assertFreshNamespaces } from './guard.cjs';
import {
  allowWrites, bindPaths, holdBindSources, holdHiddenPaths, holdWritablePaths, makeHostReadOnly, mountTmpfs, reenterWorkingDirectory, reexposeHiddenPaths, workingDirectory,
} from './mnt.cjs';
import { mountProc } from './pid.cjs';
import { overlayHostFiles, setHostname } from './uts.cjs';
import { bringUpLoopback } from './net.cjs';
import { dropCapabilities } from './user.cjs';
import type { SandboxConfig } from '../protocol.cjs';

/** `avoid`: namespaces of the zygote a forked sandbox came from (see the guard). */
export function contain(config: SandboxConfig, avoid: Record<string, string> = {}): void {
  assertFreshNamespaces(config, avoid);
  const cwd = workingDirectory();
  const hidden = holdHiddenPaths(config);
  const writable = holdWritablePaths(config);
  const bindSources = holdBindSources(config);
  makeHostReadOnly(config);
  overlayHostFiles(config);
  mountTmpfs(config);
  reexposeHiddenPaths(hidden);
  allowWrites(writable);
  bindPaths(config, bindSources);
  reenterWorkingDirectory(cwd);
  mountProc();
  setHostname(config);
  bringUpLoopback(config);
  dropCapabilities(config);
}
