// Helpers for the tests that use the repository and its packages as a newcomer would: a clone, a
// shell, and an environment with nothing of this checkout's tooling in it.
import { execFileSync, spawn } from 'node:child_process';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

export const REPO = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');

/**
 * The environment a newcomer's shell would have: this process's, less what the test runner and npm
 * put in it (VITEST_*, npm_*, NODE_OPTIONS, ...) and less every node_modules/.bin on PATH, so that
 * nothing resolves through this checkout.
 */
export function newcomerEnv(extra: Record<string, string> = {}): NodeJS.ProcessEnv {
  const env: NodeJS.ProcessEnv = {};
  for (const [key, value] of Object.entries(process.env)) {
    if (/^(VITEST|npm_|PNPM_|NODE_OPTIONS$|NODE_ENV$|NODE_PATH$|TEST$|INIT_CWD$|JEST_WORKER_ID$|FORCE_COLOR$)/i.test(key)) continue;
    env[key] = value;
  }
  env.PATH = (process.env.PATH ?? '/usr/local/bin:/usr/bin:/bin')
    .split(':')
    .filter((dir) => dir !== '' && !dir.includes(`${path.sep}node_modules${path.sep}`) && !dir.endsWith(`${path.sep}node_modules`))
    .join(':');
  return { ...env, ...extra };
}

export interface ShellResult {
  status: number | null;
  signal: NodeJS.Signals | null;
  /** stdout and stderr, interleaved as written (one pipe for both). */
  output: string;
}

/** Runs a command line through `sh -c`, exactly as typed, with stderr on the same pipe as stdout. */
export function shell(command: string, cwd: string, env: NodeJS.ProcessEnv): Promise<ShellResult> {
  return new Promise((resolve, reject) => {
    const child = spawn('sh', ['-c', `exec 2>&1\n${command}`], { cwd, env, stdio: ['ignore', 'pipe', 'inherit'] });
    let output = '';
    child.stdout.setEncoding('utf8').on('data', (d: string) => (output += d));
    child.on('error', reject);
    child.on('close', (status, signal) => resolve({ status, signal, output }));
  });
}

/** A fresh clone of what is committed at this checkout's HEAD (the working tree's changes play no part). */
export function cloneHead(dest: string): string {
  const head = execFileSync('git', ['-C', REPO, 'rev-parse', 'HEAD'], { encoding: 'utf8' }).trim();
  execFileSync('git', ['clone', '--quiet', '--no-checkout', REPO, dest]);
  execFileSync('git', ['-C', dest, 'checkout', '--quiet', '--detach', head]);
  return head;
}
