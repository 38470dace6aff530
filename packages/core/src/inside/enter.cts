// Runs the recipe in the process that was born in the sandbox's namespaces and tells the host how it
// went, on the control socket, before any user code can run.
import fs = require('node:fs');
import { contain } from './contain.cjs';
import { blockingStdio } from './stdio.cjs';
import { NsboxError, SetupError } from '../errors.cjs';
import { CONFIG_ENV, SETUP_FAILED_STATUS, SETUP_FD, type SandboxConfig } from '../protocol.cjs';

function tell(fd: number, line: string): void {
  try {
    fs.writeSync(fd, `${line}\n`);
  } catch {
    // No host is listening (the host died and the sandbox is about to be killed).
  }
}

/**
 * Runs the recipe and reports `ready` or `error` on `controlFd`, then closes it. On failure it says why
 * on stderr too and leaves through `fail` (process.exit for a process of its own, _exit for a forked one).
 * `avoid`: the zygote's namespaces, for a sandbox forked from one; `before` runs first (its failure is reported alike).
 */
export function setUp(config: SandboxConfig, controlFd: number, fail: (status: number) => never, avoid: Record<string, string> = {}, before?: () => void): void {
  try {
    before?.();
    contain(config, avoid);
    // Lets code in this process (the Jest environment, say) check that it really runs in a sandbox.
    Object.defineProperty(process, Symbol.for('nsbox.sandbox'), { value: Object.freeze({ hostname: config.hostname }) });
    tell(controlFd, `ready ${JSON.stringify({ hostname: config.hostname })}`);
    fs.closeSync(controlFd);
  } catch (error) {
    const described =
      error instanceof SetupError
        ? error.toJSON()
        : { step: 'setup', call: '', errno: error instanceof NsboxError ? error.code : 'EXCEPTION', message: String((error as Error)?.message ?? error) };
    tell(controlFd, `error ${JSON.stringify(described)}`);
    fs.writeSync(2, `nsbox: ${described.message}\n`);
    fail(SETUP_FAILED_STATUS);
  }
}

/** Returns false when no sandbox was asked for; exits the process when the setup fails. */
export function enterSandbox(): boolean {
  const raw = process.env[CONFIG_ENV];
  if (raw === undefined) return false;
  // Processes the test starts must not try to set up a sandbox of their own.
  delete process.env[CONFIG_ENV];
  let config: SandboxConfig;
  try {
    config = JSON.parse(raw) as SandboxConfig;
  } catch (error) {
    tell(SETUP_FD, `error ${JSON.stringify({ step: 'setup', call: '', errno: 'EXCEPTION', message: String(error) })}`);
    process.exit(SETUP_FAILED_STATUS);
  }
  setUp(config, SETUP_FD, (status) => process.exit(status));
  for (const [name, value] of Object.entries(config.restoreEnv ?? {})) {
    if (value === null) delete process.env[name];
    else process.env[name] = value;
  }
  blockingStdio();
  return true;
}
