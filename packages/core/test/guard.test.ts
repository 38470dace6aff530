// The in-sandbox setup must refuse to run anywhere but in its own fresh namespaces: run on the host it
// would mount over the host's /tmp and rename the host.
import { describe, expect, test } from 'vitest';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { resolveOptions } from '../dist/index.js';
import { CORE, run } from './helpers.js';

const PRELOAD = path.join(CORE, 'dist/inside/preload.cjs');
const EXEC = path.join(CORE, 'dist/inside/exec.cjs');

function hostState() {
  return { mounts: fs.readFileSync('/proc/self/mounts', 'utf8'), hostname: os.hostname() };
}

describe('the setup run outside a sandbox', () => {
  const config = resolveOptions({ hostname: 'nsbox-must-not-appear', network: 'loopback' }).config;

  test('refuses before changing anything, even with a config whose namespace ids were forged', async () => {
    const forged = { ...config, parentNamespaces: Object.fromEntries(Object.keys(config.parentNamespaces).map((k) => [k, `${k}:[1]`])) };
    const before = hostState();
    for (const sandboxConfig of [config, forged]) {
      const r = await run(process.execPath, ['--require', PRELOAD, '-e', 'console.log("user code ran")'], {
        env: { ...process.env, NSBOX_SANDBOX: JSON.stringify(sandboxConfig) },
      });
      expect(r.status).toBe(125);
      expect(r.stdout).toBe('');
      expect(r.stderr).toMatch(/^nsbox: refusing to set up a sandbox here: expected a child of the sandbox's init in a new PID namespace, .*; nothing was changed\n$/);
    }
    expect(hostState()).toEqual(before);
  });

  test('the exec entry refuses too', async () => {
    const before = hostState();
    const r = await run(process.execPath, [EXEC, '--', 'sh', '-c', 'echo ran'], { env: { ...process.env, NSBOX_SANDBOX: JSON.stringify(config) } });
    expect(r.status).toBe(125);
    expect(r.stdout).toBe('');
    expect(hostState()).toEqual(before);
  });

  test('without a config the preload does nothing (children forked with the same execArgv)', async () => {
    const r = await run(process.execPath, ['--require', PRELOAD, '-e', 'console.log("ran")']);
    expect(r).toMatchObject({ status: 0, stdout: 'ran\n', stderr: '' });
  });
});
