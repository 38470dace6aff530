// Rootless mode, run for real as an unprivileged user (uid 65534): the default most users get.
import { beforeAll, describe, expect, test } from 'vitest';
import path from 'node:path';
import { CORE, NOBODY, asNobody } from './helpers.js';

interface Seen {
  ready: string;
  out: string[];
  err: string;
  code: number;
  leftovers: string[];
}
let report: Record<string, Seen> & { host: { uid: number }; callerKilled: { started: number; survivors: number } };

beforeAll(async () => {
  const r = await asNobody([process.execPath, path.join(CORE, 'test/fixtures/rootless.mjs')]);
  if (r.status !== 0) throw new Error(`the rootless fixture failed (${r.status}):\n${r.stderr}\n${r.stdout}`);
  report = JSON.parse(r.stdout.trim().split('\n').pop()!);
});

describe(`rootless (uid ${NOBODY})`, () => {
  test('the fixture really ran unprivileged', () => {
    expect(report.host.uid).toBe(NOBODY);
  });

  test("the default identity keeps the caller's uid and gid with no capabilities", () => {
    const [uid, gid, capEff, pid, hostname, tmpEntries] = report.caller.out;
    expect(report.caller.ready).toBe('ok');
    expect([uid, gid, capEff]).toEqual([`${NOBODY}`, `${NOBODY}`, '0000000000000000']);
    expect(Number(pid)).toBeGreaterThan(1);
    expect(hostname).toMatch(/^nsbox-[0-9a-f]{8}$/);
    // Only what must stay visible (this checkout, when it lives under /tmp) shows in the private /tmp.
    expect(tmpEntries.trim()).toBe(CORE.startsWith('/tmp/') ? `tmp:${CORE.split('/')[2]}` : 'tmp:');
  });

  test("identity 'root' is uid 0 inside", () => {
    const [uid, gid, capEff] = report.root.out;
    expect([uid, gid]).toEqual(['0', '0']);
    expect(capEff).not.toBe('0000000000000000');
  });

  test("'loopback' works without privileges", () => {
    expect(report.loopback.out).toEqual(['pong']);
  });

  test('leftovers are listed without privileges', () => {
    expect(report.daemon.leftovers).toEqual(['sleep 3101']);
  });

  test('[escape] --read-only cannot be undone by remounting, as the test code has no capabilities', () => {
    expect(report.readOnly.out).toEqual(['denied', 'remount-denied']);
  });

  test('[fault] SIGKILL of an unprivileged caller leaves nothing running', () => {
    expect(report.callerKilled.started).toBeGreaterThanOrEqual(4);
    expect(report.callerKilled.survivors).toBe(0);
  });
});
