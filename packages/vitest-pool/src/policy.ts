// What happens on a host that cannot create sandboxes: never a silent run without isolation.
import { OptionError, probeHost, UnsupportedHostError } from 'nsbox';

export type OnUnsupported = 'error' | 'warn';

export function validatePolicy(value: unknown, label: string): OnUnsupported {
  if (value === undefined) return 'error';
  if (value === 'error' || value === 'warn') return value;
  throw new OptionError(label, value, "expected 'error' (fail the run) or 'warn' (run unsandboxed with a warning)");
}

/** Turns a failed sandbox start into the host's exact cause and fix, from the doctor's checks. */
export async function diagnose(failure: Error): Promise<UnsupportedHostError> {
  const report = await probeHost();
  const blocker = report.blocker;
  if (blocker?.cause && blocker.fix) return new UnsupportedHostError(blocker.cause, blocker.fix, failure.message);
  return new UnsupportedHostError(failure.message, "run 'npx nsbox doctor' for the checks of this host");
}

export function unsandboxedWarning(error: UnsupportedHostError): string {
  const bar = '!'.repeat(78);
  return `\n${bar}\n nsbox: TEST FILES ARE RUNNING WITHOUT A SANDBOX (onUnsupported: 'warn')\n ${error.message}\n${bar}\n\n`;
}
