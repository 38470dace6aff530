// Runs the recipe in the process that was born in the sandbox's namespaces and tells the host how it
// went, on the control socket, before any user code can run.
import fs = require('node:fs');
import { contain } from './contain.cjs';
import { NsboxError, SetupError } from '../errors.cjs';
import { CONFIG_ENV, CONTROL_FD, SETUP_FAILED_STATUS, type SandboxConfig } from '../protocol.cjs';

function tell(line: string): void {
  try {
    fs.writeSync(CONTROL_FD, `${line}\n`);
  } catch {
    // No host is listening (the host died and the sandbox is about to be killed).
  }
}

/** Returns false when no sandbox was asked for; exits the process when the setup fails. */
export function enterSandbox(): boolean {
  const raw = process.env[CONFIG_ENV];
  if (raw === undefined) return false;
  // Processes the test starts must not try to set up a sandbox of their own.
  delete process.env[CONFIG_ENV];
  try {
    const config = JSON.parse(raw) as SandboxConfig;
    contain(config);
    // Lets code in this process (the Jest environment, say) check that it really runs in a sandbox.
    Object.defineProperty(process, Symbol.for('nsbox.sandbox'), { value: Object.freeze({ hostname: config.hostname }) });
    tell(`ready ${JSON.stringify({ hostname: config.hostname })}`);
    fs.closeSync(CONTROL_FD);
    return true;
  } catch (error) {
    const described =
      error instanceof SetupError
        ? error.toJSON()
        : { step: 'setup', call: '', errno: error instanceof NsboxError ? error.code : 'EXCEPTION', message: String((error as Error)?.message ?? error) };
    tell(`error ${JSON.stringify(described)}`);
    fs.writeSync(2, `nsbox: ${described.message}\n`);
    process.exit(SETUP_FAILED_STATUS);
  }
}
