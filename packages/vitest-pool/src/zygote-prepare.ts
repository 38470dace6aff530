// Zygote mode: the prepare module of the warm process every test file's sandbox is forked from. It
// loads the modules of Vitest's forks worker entry, except the one that binds to the worker's IPC
// channel when it loads (init-forks: it keeps process.send, which the zygote does not have); the
// forked file process then runs the entry itself and finds everything else already evaluated.
import fs from 'node:fs';
import path from 'node:path';
import { pathToFileURL } from 'node:url';

export const ZYGOTE_ENTRY_ENV = 'NSBOX_VITEST_ZYGOTE_ENTRY';

export default async function prepare(): Promise<void> {
  const entry = process.env[ZYGOTE_ENTRY_ENV];
  if (!entry) throw new Error(`${ZYGOTE_ENTRY_ENV} is not set: this module is the Vitest pool's zygote prepare step`);
  const source = fs.readFileSync(entry, 'utf8');
  const specifiers = [...source.matchAll(/^import (?:[^'"]* from )?['"](\.[^'"]+)['"];?$/gm)].map((m) => m[1]);
  for (const specifier of specifiers) {
    if (/\/init-forks\.[^/]*\.js$/.test(specifier)) continue;
    await import(pathToFileURL(path.resolve(path.dirname(entry), specifier)).href);
  }
}
