// A DOM library's shape under Jest 29 (e2e/jest29/dom): two projects, jest-environment-jsdom and
// node, with nsbox's runner line added to each and nothing else changed. Every file passes as under
// stock Jest, in both modes, and runs in a sandbox. The jsdom files build, keep and drop large
// documents, so their processes go through full GCs (in zygote mode, in a forked process, where a
// full GC once deadlocked on Node 20; node-versions runs this file on Node 22, 24 and 26 too).
import { afterAll, describe, expect, test } from 'vitest';
import fs from 'node:fs';
import path from 'node:path';
import { run } from '../../packages/core/test/helpers.js';

const E2E = path.resolve(import.meta.dirname, '..');
const JEST29 = path.join(E2E, 'jest29');
// Under the projects' root, which every sandbox sees even when the checkout lies under /tmp.
const results = fs.mkdtempSync(path.join(JEST29, 'dom', '.results-'));
afterAll(() => fs.rmSync(results, { recursive: true, force: true }));

function jest(extra: NodeJS.ProcessEnv) {
  fs.rmSync(path.join(results, 'dom-where.json'), { force: true });
  return run(process.execPath, [path.join(JEST29, 'node_modules/jest/bin/jest.js'), '-c', 'dom/jest.config.cjs', '--ci'], {
    cwd: JEST29,
    env: { ...process.env, CI: 'true', NO_COLOR: '1', FORCE_COLOR: '0', NSBOX_E2E_RESULTS: results, ...extra },
  });
}

describe.each([
  { mode: 'stock Jest (the baseline)', env: { NSBOX_E2E_STOCK: '1' }, sandboxed: false },
  { mode: 'nsbox, zygote mode (the default)', env: {}, sandboxed: true },
  { mode: 'nsbox, fresh mode', env: { NSBOX_E2E_MODE: 'fresh' }, sandboxed: true },
])('$mode', ({ env, sandboxed }) => {
  test('8 of 8 files pass in both projects', async () => {
    const r = await jest(env);
    expect(r.stderr).toMatch(/Tests:\s+8 passed, 8 total/);
    expect(r.status).toBe(0);
    const where = JSON.parse(fs.readFileSync(path.join(results, 'dom-where.json'), 'utf8')) as { hostname: string };
    if (sandboxed) expect(where.hostname).toMatch(/^nsbox-[0-9a-f]+$/);
    else expect(where.hostname).not.toMatch(/^nsbox-/);
  }, 300_000);
});
