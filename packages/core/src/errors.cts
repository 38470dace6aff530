// Every failure nsbox reports is one of these: each names what went wrong and how to fix it,
// so the CLI and the adapters can print one line instead of a stack trace.

export class NsboxError extends Error {
  readonly code: string;
  constructor(code: string, message: string) {
    super(message);
    this.name = new.target.name;
    this.code = code;
    // These errors are for the user and say everything themselves: runners that print a stack
    // (Vitest at config load, Jest on a failed file) print this one line instead of nsbox's frames.
    this.stack = `${this.name}: ${message}`;
  }
}

/** An option has a value nsbox does not accept; raised before anything starts. */
export class OptionError extends NsboxError {
  readonly option: string;
  readonly value: unknown;
  readonly allowed: string;
  constructor(option: string, value: unknown, allowed: string) {
    super('NSBOX_BAD_OPTION', `invalid ${option} ${formatValue(value)}: ${allowed}`);
    this.option = option;
    this.value = value;
    this.allowed = allowed;
  }
}

/** A step of the in-sandbox setup failed: names the kernel call and the errno. */
export class SetupError extends NsboxError {
  readonly step: string;
  readonly call: string;
  readonly errno: string;
  readonly hint: string | undefined;
  constructor(step: string, call: string, errno: string, hint?: string) {
    super('NSBOX_SETUP_FAILED', `sandbox setup failed at step '${step}': ${call} failed with ${errno}${hint ? ` (${hint})` : ''}`);
    this.step = step;
    this.call = call;
    this.errno = errno;
    this.hint = hint;
  }
  toJSON() {
    return { step: this.step, call: this.call, errno: this.errno, hint: this.hint, message: this.message };
  }
}

/** The in-sandbox setup was asked to run somewhere that is not a fresh nsbox sandbox. */
/** The error a sandbox's setup reported on its control channel; one that is no kernel call (the guard refusing, say) reads better as its own message. */
export function setupFailure(reported: { step: string; call: string; errno: string; hint?: string; message: string }): SetupError {
  const failure = new SetupError(reported.step, reported.call, reported.errno, reported.hint);
  if (!reported.call) failure.message = `sandbox setup failed: ${reported.message}`;
  return failure;
}

export class GuardError extends NsboxError {
  constructor(reason: string) {
    super('NSBOX_NOT_IN_SANDBOX', `refusing to set up a sandbox here: ${reason}; nothing was changed`);
  }
}

/** The host cannot create sandboxes; `cause` and `fix` come from the host probe. */
export class UnsupportedHostError extends NsboxError {
  readonly cause: string;
  readonly fix: string;
  constructor(cause: string, fix: string, detail?: string) {
    super('NSBOX_UNSUPPORTED_HOST', `this host cannot create nsbox sandboxes: ${cause}${detail ? ` (${detail})` : ''}. Fix: ${fix}`);
    this.cause = cause;
    this.fix = fix;
  }
}

/** A resource limit was asked for that this host cannot apply; refused rather than silently skipped. */
export class LimitError extends NsboxError {
  readonly fix: string;
  constructor(problem: string, fix: string) {
    super('NSBOX_LIMIT_UNAVAILABLE', `${problem}. Fix: ${fix}`);
    this.fix = fix;
  }
}

/** The per-user directory of sandbox records (for `nsbox ps` and `nsbox exec`) cannot be used safely. */
export class RuntimeDirError extends NsboxError {
  readonly dir: string;
  readonly fix: string;
  constructor(dir: string, problem: string, fix: string) {
    super('NSBOX_RUNTIME_DIR', `the sandbox record directory ${dir} cannot be used: ${problem}. Fix: ${fix}`);
    this.dir = dir;
    this.fix = fix;
  }
}

/** `nsbox exec` was given an id that names no running sandbox of this user (or more than one). */
export class NoSuchSandboxError extends NsboxError {
  readonly id: string;
  constructor(id: string, problem: string, fix: string) {
    super('NSBOX_NO_SUCH_SANDBOX', `sandbox '${id}' ${problem}. Fix: ${fix}`);
    this.id = id;
  }
}

/** The sandbox ended before its setup reported success, for a reason other than a setup step. */
export class StartError extends NsboxError {
  readonly stderr: string;
  constructor(message: string, stderr = '') {
    super('NSBOX_START_FAILED', message);
    this.stderr = stderr;
  }
}

export function formatValue(value: unknown): string {
  if (typeof value === 'string') return `'${value}'`;
  if (value === undefined) return '(missing)';
  try {
    return JSON.stringify(value) ?? String(value);
  } catch {
    return String(value);
  }
}
