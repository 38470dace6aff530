export { spawn, fork, forkUnsandboxed, PRELOAD, type SandboxProcess, type SandboxExit, type SandboxControls, type SpawnOptions, type ForkOptions } from './sandbox.js';
export { resolveOptions, OPTION_NAMES, type SandboxOptions, type OptionLabel } from './options.js';
export { probeHost, diagnose, type HostReport, type Check } from './probe.js';
export { startZygote, type Zygote, type ZygoteOptions, type ZygoteForkOptions, type ZygoteProcess } from './zygote.js';
export type { Leftover } from './leftovers.js';
export { NsboxError, OptionError, SetupError, GuardError, UnsupportedHostError, StartError, LimitError } from './errors.cjs';
export type { NetworkMode, Identity } from './protocol.cjs';
export { resolveOnUnsupported, unsandboxedWarning, type OnUnsupported } from './policy.js';
