// Vitest with environment 'jsdom' and 'happy-dom' (e2e/suite/tests-dom): the same results under the
// nsbox pool (zygote mode, its default, and fresh mode) as under the stock forks and threads pools,
// each nsbox file in a sandbox of its own.
import { afterAll, describe, expect, test } from 'vitest';
import fs from 'node:fs';
import path from 'node:path';
import { run } from '../../packages/core/test/helpers.js';

const E2E = path.resolve(import.meta.dirname, '..');
const VITEST4 = path.join(E2E, 'vitest4');
const results = fs.mkdtempSync(path.join(E2E, 'suite', '.results-'));
afterAll(() => fs.rmSync(results, { recursive: true, force: true }));

function vitest(dom: string, pool: string, mode?: string) {
  for (const file of fs.readdirSync(results)) fs.rmSync(path.join(results, file));
  return run(process.execPath, [path.join(VITEST4, 'node_modules/vitest/vitest.mjs'), 'run', '-c', 'vitest.dom.config.mjs'], {
    cwd: VITEST4,
    env: { ...process.env, CI: 'true', NO_COLOR: '1', FORCE_COLOR: '0', NSBOX_E2E_RESULTS: results, NSBOX_E2E_DOM: dom, NSBOX_E2E_POOL: pool, ...(mode ? { NSBOX_E2E_MODE: mode } : {}) },
  });
}

describe.each(['jsdom', 'happy-dom'])("environment '%s'", (dom) => {
  test.each([
    { label: 'stock forks pool', pool: 'forks', sandboxed: false },
    { label: 'stock threads pool', pool: 'threads', sandboxed: false },
    { label: 'nsbox, zygote mode', pool: 'nsbox', sandboxed: true },
    { label: 'nsbox, fresh mode', pool: 'nsbox', mode: 'fresh', sandboxed: true },
  ])('$label: 4 of 4 files pass', async ({ pool, mode, sandboxed }) => {
    const r = await vitest(dom, pool, mode);
    expect(r.stdout.replace(/\x1b\[[0-9;]*m/g, ''), r.stderr).toMatch(/Tests\s+4 passed \(4\)/);
    expect(r.status).toBe(0);
    const seen = [1, 2, 3, 4].map((i) => JSON.parse(fs.readFileSync(path.join(results, `dom-${i}-${dom}.json`), 'utf8')) as { hostname: string; userAgent: string });
    // The environment really is the one asked for: each names itself in its user agent.
    for (const facts of seen) expect(facts.userAgent).toMatch(dom === 'jsdom' ? /jsdom/ : /HappyDOM/);
    const hostnames = new Set(seen.map((facts) => facts.hostname));
    if (sandboxed) {
      expect([...hostnames].every((h) => /^nsbox-[0-9a-f]+$/.test(h))).toBe(true);
      expect(hostnames.size).toBe(4); // a sandbox per file
    } else {
      expect([...hostnames].some((h) => h.startsWith('nsbox-'))).toBe(false);
    }
  }, 180_000);
});
