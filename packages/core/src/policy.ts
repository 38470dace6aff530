// What an adapter does on a host that cannot create sandboxes: never a silent run without isolation.
import { OptionError, type UnsupportedHostError } from './errors.cjs';
import { platformProblem } from './platform.js';

/**
 * 'error': fail with the cause and fix (the default on Linux, where a host that forbids sandboxes can
 * be fixed). 'warn': run unsandboxed, said loudly (the default where nsbox can never sandbox: not Linux).
 */
export type OnUnsupported = 'error' | 'warn';

export function resolveOnUnsupported(value: unknown, label: string): OnUnsupported {
  if (value === undefined) return platformProblem() ? 'warn' : 'error';
  if (value === 'error' || value === 'warn') return value;
  throw new OptionError(label, value, "expected 'error' (fail the run) or 'warn' (run unsandboxed with a warning)");
}

export function unsandboxedWarning(error: UnsupportedHostError): string {
  const bar = '!'.repeat(78);
  return `\n${bar}\n nsbox: TEST FILES ARE RUNNING WITHOUT A SANDBOX (onUnsupported: 'warn')\n ${error.message}\n${bar}\n\n`;
}
