// A frozen copy of the built packages for one benchmark run. The packages may be rebuilt while the
// benchmark runs (it takes a long while): every round must measure the same code, and a Jest run must
// not load its runner from one build and its sandboxed child from the next.
import { execFileSync } from 'node:child_process';
import crypto from 'node:crypto';
import fs from 'node:fs';
import path from 'node:path';

const PACKAGES = { core: 'nsbox', 'vitest-pool': 'vitest-pool-nsbox', 'jest-env': 'jest-environment-nsbox' };
const SKIP = new Set(['node_modules', 'src', 'test', 'tsconfig.json', 'tsconfig.tsbuildinfo']);

function linkModules(realModules, copyModules, mapWorkspace) {
  if (!fs.existsSync(realModules)) return;
  for (const name of fs.readdirSync(realModules)) {
    if (name === '.bin' || name.startsWith('.')) continue;
    const real = path.join(realModules, name);
    if (name.startsWith('@') && fs.statSync(real).isDirectory() && !fs.existsSync(path.join(real, 'package.json'))) {
      linkModules(real, path.join(copyModules, name), mapWorkspace);
      continue;
    }
    fs.mkdirSync(copyModules, { recursive: true });
    const target = fs.realpathSync(real);
    fs.symlinkSync(mapWorkspace(target) ?? target, path.join(copyModules, name));
  }
}

function hashDir(dir, hash) {
  for (const entry of fs.readdirSync(dir, { withFileTypes: true }).sort((a, b) => a.name.localeCompare(b.name))) {
    if (entry.name === 'node_modules') continue;
    const p = path.join(dir, entry.name);
    if (entry.isDirectory()) hashDir(p, hash);
    else if (entry.isFile()) hash.update(entry.name).update(fs.readFileSync(p));
  }
}

/** Copies packages/{core,vitest-pool,jest-env} (built files only) to `dest`; returns their paths and identity. */
export function snapshotPackages(root, dest) {
  fs.rmSync(dest, { recursive: true, force: true });
  const copies = {};
  for (const dir of Object.keys(PACKAGES)) {
    const from = path.join(root, 'packages', dir);
    const to = path.join(dest, dir);
    fs.mkdirSync(to, { recursive: true });
    for (const entry of fs.readdirSync(from)) {
      if (SKIP.has(entry)) continue;
      fs.cpSync(path.join(from, entry), path.join(to, entry), { recursive: true, dereference: true });
    }
    copies[dir] = to;
  }
  const realPackages = Object.fromEntries(Object.keys(PACKAGES).map((dir) => [fs.realpathSync(path.join(root, 'packages', dir)), copies[dir]]));
  for (const dir of Object.keys(PACKAGES)) {
    linkModules(path.join(root, 'packages', dir, 'node_modules'), path.join(copies[dir], 'node_modules'), (target) => realPackages[target]);
  }
  const hash = crypto.createHash('sha1');
  for (const dir of Object.keys(PACKAGES)) hashDir(copies[dir], hash);
  const git = (args) => {
    try {
      return execFileSync('git', ['--no-optional-locks', ...args], { cwd: root, encoding: 'utf8', stdio: ['ignore', 'pipe', 'ignore'] }).trim();
    } catch {
      return '';
    }
  };
  const head = git(['rev-parse', '--short', 'HEAD']) || '?';
  const dirty = git(['status', '--porcelain', '--', 'packages']) !== '';
  return {
    dir: dest,
    core: copies.core,
    vitestPool: copies['vitest-pool'],
    jestEnv: copies['jest-env'],
    id: `${head}${dirty ? ' + uncommitted changes in packages/' : ''}, built files sha1 ${hash.digest('hex').slice(0, 12)}`,
  };
}

/** Makes `vitest-pool-nsbox` and `jest-environment-nsbox` resolve to the snapshot from `dir`. */
export function linkSnapshotInto(dir, snapshot) {
  const modules = path.join(dir, 'node_modules');
  fs.mkdirSync(modules, { recursive: true });
  for (const [name, target] of [['vitest-pool-nsbox', snapshot.vitestPool], ['jest-environment-nsbox', snapshot.jestEnv]]) {
    fs.rmSync(path.join(modules, name), { force: true, recursive: true });
    fs.symlinkSync(target, path.join(modules, name));
  }
}
