// Where nsbox can sandbox: Linux only. Teams whose CI is Linux install nsbox on every laptop (macOS,
// Windows) too, so the packages install everywhere and say plainly, at start, that a file runs
// unsandboxed there and why.
//
// NSBOX_SIMULATE_PLATFORM is the seam the test suite uses to run the non-Linux path with real Jest and
// Vitest on a Linux machine (no Mac in CI); nothing else should set it.
export const SIMULATE_PLATFORM_ENV = 'NSBOX_SIMULATE_PLATFORM';

export function hostPlatform(): string {
  return process.env[SIMULATE_PLATFORM_ENV] || process.platform;
}

const NAMES: Record<string, string> = { darwin: 'macOS', win32: 'Windows', freebsd: 'FreeBSD', openbsd: 'OpenBSD', sunos: 'SunOS', aix: 'AIX' };

/** Why this platform can never sandbox, or undefined on Linux. */
export function platformProblem(): string | undefined {
  const platform = hostPlatform();
  if (platform === 'linux') return undefined;
  return `nsbox needs Linux: it runs each test file in Linux namespaces, which ${NAMES[platform] ?? platform} does not have`;
}

/** The one line an adapter prints when it runs the files the stock way on such a platform. */
export function notSandboxedLine(runner: string): string {
  return `[nsbox] ${platformProblem()}: ${runner} runs the test files as it would without nsbox, not sandboxed (set onUnsupported: 'error' to fail instead)\n`;
}
