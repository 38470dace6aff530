// What an adapter does on a host that cannot create sandboxes: never a silent run without isolation.
import { OptionError, type UnsupportedHostError } from './errors.cjs';

/** 'error' (default): fail with the cause and fix. 'warn': run unsandboxed under a loud warning. */
export type OnUnsupported = 'error' | 'warn';

export function resolveOnUnsupported(value: unknown, label: string): OnUnsupported {
  if (value === undefined) return 'error';
  if (value === 'error' || value === 'warn') return value;
  throw new OptionError(label, value, "expected 'error' (fail the run) or 'warn' (run unsandboxed with a warning)");
}

export function unsandboxedWarning(error: UnsupportedHostError): string {
  const bar = '!'.repeat(78);
  return `\n${bar}\n nsbox: TEST FILES ARE RUNNING WITHOUT A SANDBOX (onUnsupported: 'warn')\n ${error.message}\n${bar}\n\n`;
}
