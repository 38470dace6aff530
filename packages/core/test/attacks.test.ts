// A test file cannot reach the runner or another file (issue 19, item 3). A hostile file
// (fixtures/attack-inside.cjs) runs next to two bystander files (one fresh, one forked from a zygote)
// and tries, from inside its sandbox: the zygote's socket (found in /proc/net/unix or by its path, then
// forged headers and every token left in its memory), its own init's control connection, the sandbox
// records, processes outside, other sandboxes' abstract sockets, the host's /tmp through its working
// directory, and unmounting what hides the host. Each in both modes (fresh and zygote) and both
// identities, for a real-root caller and a rootless one (uid 65534). fixtures/attacks.mjs is the
// runner; it prints what each attacker reported and how the bystanders, the records and the host
// looked afterwards. What nsbox does not isolate is asserted as the README's "What nsbox protects
// against, and what not" says, in tests named so (not counted as blocked escapes).
import { beforeAll, describe, expect, test } from 'vitest';
import path from 'node:path';
import { CORE, NOBODY, asNobody, run } from './helpers.js';

const DRIVER = path.join(CORE, 'test/fixtures/attacks.mjs');
const MODES = ['fresh', 'zygote'] as const;
type Mode = (typeof MODES)[number];

interface Attempt {
  what: string;
  result: string;
}
interface Report {
  uid: number;
  capEff: string;
  socket: { listed: string[]; connectListed: string[]; connectGuessed: string[]; tmpEntries: string[] | string; tmpdirEntries: string[] | string };
  cwd: { cwd: string; entries: string[] | string; write: string };
  registry: { listed: string[] | string; forge: string; remove: string[]; fallback: string[] | string };
  processes: Record<string, Record<string, string>>;
  init: { seize: string; getfd: Record<string, string>; cwd: string; mem: string };
  abstract: { listed: string[]; connect: Record<string, string> };
  tokens: { found: number; attempts?: Attempt[] };
  umount: Record<'nested' | 'tmp' | 'tmp-staging' | 'registry' | 'proc', string>;
  afterUmount?: {
    tmpEntries: string[];
    connectGuessed: string[];
    attempts: Attempt[];
    registry?: { listed: string[] | string };
    runnerInProc?: boolean;
  };
  killAll: string;
  crashed?: string;
}
interface Attacker {
  report: Report;
  stdout: string;
  stderr: string;
  signal: string | null;
  victimAlive: boolean;
}
interface Bystander {
  id: string;
  received: unknown;
  messages: unknown[];
  stdout: string;
  stderr: string;
  exit: { code: number | null; signal: string | null; leftovers: number };
  victimAlive: boolean;
}
interface Setting {
  attackers: Record<string, Attacker>;
  bystanders: Record<Mode, Bystander>;
  registry: { before: Record<string, string> | string; after: Record<string, string> | string; live: string[]; left: Record<string, string> | string };
  zygoteAlive: boolean;
  socketDir: string;
  socketDirLeft: boolean;
}
interface Results {
  uid: number;
  tag: string;
  settings: Record<string, Setting>;
  victimAlive: boolean;
  hostTmp: string[];
}

async function attack(asNobodyToo: boolean): Promise<Results> {
  const r = asNobodyToo ? await asNobody([process.execPath, DRIVER]) : await run(process.execPath, [DRIVER]);
  if (r.status !== 0) throw new Error(`the attack runner failed (${r.status}):\n${r.stderr}\n${r.stdout}`);
  return JSON.parse(r.stdout.trim().split('\n').pop()!) as Results;
}

const SETTINGS = [
  { key: 'caller', label: 'identity caller', readOnly: false },
  { key: 'root', label: 'identity root', readOnly: false },
  { key: 'caller+readOnly', label: 'identity caller, readOnly', readOnly: true },
];

const ME = process.getuid?.() ?? -1;
const callers = [
  { name: ME === 0 ? 'a real-root caller' : `a rootless caller (this user, uid ${ME})`, nobody: false, realRoot: ME === 0, uid: ME },
  { name: `a rootless caller (uid ${NOBODY})`, nobody: true, realRoot: false, uid: NOBODY },
];

for (const caller of callers) {
  // The rootless run switches to uid 65534 with setpriv, which needs root (as the suite runs, in CI).
  const runnable = !caller.nobody || ME === 0;
  describe.skipIf(!runnable)(`attacks from inside a sandbox of ${caller.name}`, () => {
    let results: Results;
    beforeAll(async () => {
      results = await attack(caller.nobody);
    }, 300_000);

    // Under a real-root caller, readOnly is the setting where root keeps no CAP_SYS_ADMIN; rootless has no such setting to add.
    const settings = SETTINGS.filter((s) => caller.realRoot || !s.readOnly);
    // What a real root keeps (CAP_SYS_ADMIN, CAP_SYS_PTRACE over everything) lets it undo the sandbox's mounts: documented.
    const contained = (readOnly: boolean) => !caller.realRoot || readOnly;

    test('the attackers ran as that caller, with the identity asked for, and the run left nothing behind', () => {
      expect(results.uid).toBe(caller.uid);
      for (const { key } of settings) {
        const setting = results.settings[key];
        for (const [label, attacker] of Object.entries(setting.attackers)) {
          expect(attacker.report.crashed, `${key} ${label}: ${attacker.stderr}`).toBeUndefined();
          expect(attacker.report.uid, `${key} ${label}`).toBe(key.startsWith('root') || caller.realRoot ? 0 : caller.uid);
        }
        expect(setting.zygoteAlive).toBe(true);
        expect(setting.socketDirLeft).toBe(false);
        // The records' directory under $XDG_RUNTIME_DIR stays (sandboxes hide it by a mount on it), empty.
        if (contained(key.endsWith('readOnly'))) expect(setting.registry.left).toEqual({});
      }
      expect(results.victimAlive).toBe(true);
      // Only the marker the runner put there itself: nothing an attacker wrote reached the host's /tmp.
      expect(results.hostTmp).toEqual([`nsbox-attack-marker-${results.tag}`]);
    });

    for (const { key, label, readOnly } of settings) {
      for (const mode of MODES) {
        const combo = `(${mode}, ${label})`;
        const get = () => {
          const setting = results.settings[key];
          const a = (variant: string) => setting.attackers[`${mode}/${variant}`].report;
          return { setting, host: a('host'), loopback: a('loopback'), given: a('host/given'), all: ['host', 'loopback', 'host/given'].map(a) };
        };

        test(`[escape] find the zygote's socket through /proc/net/unix or by its path, and connect to it ${combo}`, () => {
          const { setting, host, loopback, all } = get();
          const socket = path.join(setting.socketDir, 'sandboxes.sock');
          // 'host' mode shows the path (the host's sockets are listed); the path leads nowhere inside.
          expect(host.socket.listed).toContain(socket);
          expect(host.socket.connectListed).toEqual(['ENOENT']);
          expect(loopback.socket.listed).toEqual([]);
          for (const report of [host, loopback]) {
            expect(report.socket.connectGuessed).toEqual(['ENOENT']);
            expect(report.socket.tmpEntries).toEqual([]);
            // $TMPDIR (outside /tmp, visible inside) holds no socket directory: those are always in /tmp.
            expect(report.socket.tmpdirEntries).toEqual([]);
          }
          expect(all.every((r) => r.socket.tmpdirEntries.length === 0)).toBe(true);
        });

        test(`[escape] pretend to be another file on the zygote's socket: forged headers, a random token, every token left in its memory ${combo}`, () => {
          const { setting, given, host } = get();
          // The socket given on purpose (its directory bound in): every connection is dropped.
          const attempts = [...given.tokens.attempts!, ...(host.afterUmount?.attempts ?? [])];
          expect(given.tokens.attempts!.length).toBeGreaterThanOrEqual(4);
          // A forked file starts as a copy of the zygote: it finds at least its own token in its memory.
          if (mode === 'zygote') expect(given.tokens.attempts!.filter((a) => a.what.startsWith('token from memory')).length).toBeGreaterThanOrEqual(4);
          expect(attempts.filter((a) => a.result !== 'closed')).toEqual([]);
          // No sandbox's connections were taken over: each attacker's own sandbox was still there to be
          // killed (a taken control connection ends it on close) and the host killed what it should
          // (a forged init pid would have made it SIGKILL the victim).
          for (const attacker of Object.values(setting.attackers)) {
            expect(attacker.signal).toBe('SIGKILL');
            expect(attacker.victimAlive).toBe(true);
            expect(attacker.stdout).toBe('');
            expect(attacker.stderr).toBe('');
          }
          // The other files: only their own messages, no forged output, answered the runner, killed by it.
          for (const bystander of Object.values(setting.bystanders)) {
            expect(bystander.messages).toEqual([{ ready: true }, { report: [] }]);
            expect([bystander.stdout, bystander.stderr]).toEqual(['', '']);
            expect(bystander.exit).toEqual({ code: null, signal: 'SIGKILL', leftovers: 0 });
            expect(bystander.victimAlive).toBe(true);
          }
        });

        if (contained(readOnly)) {
          test(`[escape] take its own init's control connection to the runner: ptrace, pidfd_getfd, /proc/1 ${combo}`, () => {
            for (const report of get().all) {
              expect(report.init.seize).toBe('EPERM');
              expect(new Set(Object.values(report.init.getfd))).toEqual(new Set(['EPERM']));
              expect([report.init.cwd, report.init.mem]).toEqual(['EACCES', 'EACCES']);
            }
          });
        }

        test(`[escape] read, forge or remove the sandbox records ${combo}`, () => {
          const { setting, all } = get();
          for (const report of all) {
            // $XDG_RUNTIME_DIR/nsbox is hidden by an empty tmpfs: what is written there stays inside.
            expect(report.registry.listed).toEqual([]);
            expect(report.registry.remove).toEqual(['ENOENT', 'ENOENT']);
            expect(report.registry.fallback).toBe('ENOENT');
          }
          const ids = Object.values(setting.bystanders).map((b) => b.id).sort();
          expect(Object.keys(setting.registry.before).sort()).toEqual(ids.map((id) => `${id}.json`));
          if (contained(readOnly)) {
            expect(setting.registry.after).toEqual(setting.registry.before);
            expect([...setting.registry.live].sort()).toEqual(ids);
          }
        });

        if (contained(readOnly)) {
          test(`[escape] unmount what hides the host (/tmp, the records' mask, /proc), directly or from a nested user namespace ${combo}`, () => {
            for (const report of get().all) {
              const { nested, ...direct } = report.umount;
              expect(direct).toEqual({ tmp: 'EPERM', 'tmp-staging': 'EPERM', registry: 'EPERM', proc: 'EPERM' });
              // In a nested user namespace the sandbox's mounts are locked: umount2 fails with EINVAL.
              expect(nested).toMatch(/not mounted|Invalid argument/);
              expect(report.afterUmount).toBeUndefined();
            }
          });
        }

        test(`[escape] signal, ptrace, pidfd_open or read /proc of the runner, the zygote, a host process and other sandboxes' processes ${combo}`, () => {
          const { setting, all } = get();
          for (const report of all) {
            expect(Object.keys(report.processes).length).toBe(9);
            for (const [target, tried] of Object.entries(report.processes)) {
              expect({ target, ...tried }).toEqual({ target, kill: 'ESRCH', proc: 'ENOENT', ptrace: 'ESRCH', pidfd: 'ESRCH', ...(target === 'victim' ? { sigkill: 'ESRCH' } : {}) });
            }
            // kill(-1, SIGKILL) reaches only its own sandbox (here nothing but itself and its init).
            expect(report.killAll).toBe('ESRCH');
          }
          expect(Object.values(setting.attackers).every((a) => a.victimAlive)).toBe(true);
          expect(setting.zygoteAlive).toBe(true);
        });

        test(`[escape] reach the host's or another sandbox's abstract unix sockets in 'loopback' mode ${combo}`, () => {
          const { loopback } = get();
          expect(loopback.abstract.listed).toEqual([]);
          expect(new Set(Object.values(loopback.abstract.connect))).toEqual(new Set(['ECONNREFUSED']));
        });

        test(`not isolated, as the README says: 'host' mode reaches the host's and other sandboxes' abstract unix sockets ${combo}`, () => {
          const { host } = get();
          const names = Object.keys(host.abstract.connect);
          expect(names).toHaveLength(3);
          expect(host.abstract.listed).toEqual(expect.arrayContaining(names));
          expect(new Set(Object.values(host.abstract.connect))).toEqual(new Set(['connected']));
        });

        test(`[escape] the host's /tmp through a working directory of /tmp ${combo}`, () => {
          for (const report of [get().host, get().loopback]) {
            expect(report.cwd.cwd).toBe('/tmp');
            expect(report.cwd.entries).toEqual([]);
            // Written, but into the sandbox's own /tmp: the runner checks the host's (first test).
            expect(report.cwd.write).toBe('ok');
          }
        });

        if (!contained(readOnly)) {
          test(`not isolated, as the README says: a real-root test unmounts what hides the host, yet the zygote still refuses every token ${combo}`, () => {
            const { setting, all } = get();
            for (const report of all) {
              expect(report.umount).toMatchObject({ tmp: 'ok', 'tmp-staging': 'ok', registry: 'ok', proc: 'ok' });
              expect(report.init.seize).toBe('ok');
              const after = report.afterUmount!;
              expect(after.tmpEntries).toEqual(expect.arrayContaining([path.basename(setting.socketDir)]));
              expect(after.connectGuessed).toEqual(['connected']);
              expect(after.attempts.length).toBeGreaterThanOrEqual(4);
              expect(after.attempts.filter((a) => a.result !== 'closed')).toEqual([]);
              expect(after.registry?.listed).not.toEqual([]);
              expect(after.runnerInProc).toBe(true);
            }
          });
        }
      }
    }
  });
}
