// Sorts the samples of V8 CPU profiles (.cpuprofile, from the inspector or `node --cpu-prof`) into a
// few kinds of work, so that a fresh Jest process per file can be set against Jest's warm in-band
// process: how much of a file's CPU is compiling modules, collecting garbage, running Jest, the test.
import fs from 'node:fs';
import path from 'node:path';

const COMPILE = new Set(['wrapSafe', 'compileFunction', 'internalCompileFunction', 'compileFunctionForCJSLoader', 'Script', 'compileSourceTextModule']);

export const KINDS = [
  'compiling JavaScript (V8 parses and compiles each module)',
  "Node's module loader (resolution, stat, package.json, reads)",
  'garbage collection',
  'the test files’ own code',
  "Jest's code (jest-*, @jest/*, expect, pretty-format, ...)",
  'Babel (loaded by babel-jest, the default transform)',
  'nsbox (the in-sandbox setup)',
  'other Node internals and packages',
  'native code outside JavaScript (V8, libuv, syscalls)',
];

function kindOfFrame({ functionName, url }) {
  if (functionName === '(garbage collector)') return KINDS[2];
  if (functionName === '(program)') return KINDS[8];
  if (COMPILE.has(functionName)) return KINDS[0];
  if (!url) return undefined; // a native function: counted as its caller's work
  if (url.includes('/tests/')) return KINDS[3];
  if (/node:internal\/modules\//.test(url) || url.endsWith('/graceful-fs.js')) return KINDS[1];
  if (/\/@babel\//.test(url)) return KINDS[4 + 1];
  if (/\/(jest-[^/]+|@jest\/[^/]+|expect|expect-utils|pretty-format|jest|babel-jest)\//.test(url)) return KINDS[4];
  if (/\/(koffi|nsbox|core)\/|\/dist\/inside\//.test(url)) return KINDS[6];
  return KINDS[7];
}

/** Milliseconds per kind, summed over `files` (.cpuprofile paths); idle time is left out. */
export function cpuByKind(files) {
  const totals = Object.fromEntries(KINDS.map((k) => [k, 0]));
  for (const file of files) {
    const profile = JSON.parse(fs.readFileSync(file, 'utf8'));
    const byId = new Map(profile.nodes.map((n) => [n.id, n]));
    const parent = new Map();
    for (const n of profile.nodes) for (const c of n.children ?? []) parent.set(c, n.id);
    const kindOf = new Map();
    const resolve = (id) => {
      if (kindOf.has(id)) return kindOf.get(id);
      const node = byId.get(id);
      let kind = node.callFrame.functionName === '(idle)' ? null : kindOfFrame(node.callFrame);
      if (kind === undefined) kind = parent.has(id) ? resolve(parent.get(id)) : KINDS[8];
      kindOf.set(id, kind);
      return kind;
    };
    profile.samples.forEach((id, i) => {
      const kind = resolve(id);
      if (kind) totals[kind] += (profile.timeDeltas[i] ?? 0) / 1000;
    });
  }
  return totals;
}

export const profilesIn = (dir) => fs.readdirSync(dir).filter((f) => f.endsWith('.cpuprofile')).map((f) => path.join(dir, f));
