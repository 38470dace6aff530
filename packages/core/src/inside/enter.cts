// Runs the recipe in the process that was born in the sandbox's namespaces and tells the host how it
// went, on the control socket, before any user code can run.
import fs = require('node:fs');
import { contain } from './contain.cjs';
import { NsboxError, SetupError } from '../errors.cjs';
import { CONFIG_ENV, SETUP_FAILED_STATUS, SETUP_FD, type SandboxConfig } from '../protocol.cjs';

function tell(line: string): void {
  try {
    fs.writeSync(SETUP_FD, `${line}\n`);
  } catch {
    // No host is listening (the host died and the sandbox is about to be killed).
  }
}

/**
 * Node writes to a pipe asynchronously on Linux: what the command wrote just before its sandbox is
 * killed (a runner ending a file, a timeout, a crash) would still sit in its memory and be lost. Made
 * blocking, as Node already makes stdout and stderr for files and terminals, every byte written has
 * reached the host when write() returns. Node creates the streams on first use (and opens an fd
 * then), so the switch waits for that use: the process's fds stay numbered as without nsbox.
 */
function blockingStdio(): void {
  for (const name of ['stdout', 'stderr'] as const) {
    const original = Object.getOwnPropertyDescriptor(process, name);
    if (!original?.get || !original.configurable) continue;
    Object.defineProperty(process, name, {
      ...original,
      get() {
        Object.defineProperty(process, name, original);
        const stream = original.get!.call(process) as { _handle?: { setBlocking?(blocking: boolean): unknown } };
        stream._handle?.setBlocking?.(true);
        return stream;
      },
    });
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
    for (const [name, value] of Object.entries(config.restoreEnv)) {
      if (value === null) delete process.env[name];
      else process.env[name] = value;
    }
    blockingStdio();
    // Lets code in this process (the Jest environment, say) check that it really runs in a sandbox.
    Object.defineProperty(process, Symbol.for('nsbox.sandbox'), { value: Object.freeze({ hostname: config.hostname }) });
    tell(`ready ${JSON.stringify({ hostname: config.hostname })}`);
    fs.closeSync(SETUP_FD);
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
