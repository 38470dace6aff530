// Rootless sandboxes keep the caller's uid but need capabilities for the setup (unshare --keep-caps).
// They are dropped here, on the main thread, before any user code runs: threads and processes the
// test starts later inherit the empty sets.
import { PR_CAPBSET_DROP, PR_CAP_AMBIENT, PR_CAP_AMBIENT_CLEAR_ALL, capsetClear, capsetZero, prctl } from './ffi.cjs';
import fs = require('node:fs');
import type { SandboxConfig } from '../protocol.cjs';

function lastCapability(): number {
  try {
    return Number(fs.readFileSync('/proc/sys/kernel/cap_last_cap', 'utf8'));
  } catch {
    return 40;
  }
}

export function dropCapabilities(config: SandboxConfig): void {
  if (!config.dropCapabilities) {
    for (const cap of config.dropCapability) {
      prctl('drop capabilities', PR_CAPBSET_DROP, cap);
      capsetClear('drop capabilities', cap);
    }
    return;
  }
  prctl('drop capabilities', PR_CAP_AMBIENT, PR_CAP_AMBIENT_CLEAR_ALL);
  for (let cap = 0; cap <= lastCapability(); cap++) prctl('drop capabilities', PR_CAPBSET_DROP, cap);
  capsetZero('drop capabilities');
}
