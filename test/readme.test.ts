// The README's commands, run verbatim in a fresh clone of what is committed, with only Node and npm:
// the set-up block and every `$ ` line of the quick start, taken from README.md itself so that the
// README cannot drift from the code. The rest of the documentation lives in docs/, one page per topic:
// every relative link of README.md, docs/*.md and the packages' READMEs must reach an existing file
// and, with a #fragment, one of its headings, and every docs/ page is linked from README.md. (The CI
// recipes of docs/ci-and-containers.md are checked by test/recipes.test.ts, its `nsbox run -- npm test`
// by test/install.test.ts.)
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { REPO, cloneHead, newcomerEnv, shell } from './newcomer.js';

const README = fs.readFileSync(path.join(REPO, 'README.md'), 'utf8');

/** The first ```sh block after the heading that starts with `heading`. */
function firstShBlock(heading: string): string[] {
  const at = README.indexOf(`\n${heading}`);
  if (at < 0) throw new Error(`README.md has no section '${heading}'`);
  const block = /```sh\n([\s\S]*?)```/.exec(README.slice(at));
  if (!block) throw new Error(`README.md's section '${heading}' has no sh block`);
  return block[1].split('\n').filter((line) => line.trim() !== '');
}

const setup = firstShBlock('## Set-up');

/** The quick start's commands (`$ ` lines), each with the output shown under it. */
const quickStart: Array<{ command: string; expected: string[] }> = [];
for (const line of firstShBlock('## Quick start')) {
  if (line.startsWith('$ ')) quickStart.push({ command: line.slice(2), expected: [] });
  else if (quickStart.length === 0) throw new Error(`README.md's quick start starts with output, not a command: ${line}`);
  else quickStart[quickStart.length - 1].expected.push(line);
}

/**
 * The output shown in the README as a pattern: ids and PIDs (runs of 4 or more hex digits with a digit
 * among them) vary from run to run, and a line `...` stands for any lines (what depends on the host).
 * Everything else must match exactly.
 */
function outputPattern(lines: string[]): RegExp {
  const escape = (text: string) => text.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');
  const line = (text: string) =>
    text
      .split(/\b([0-9a-f]{4,})\b/)
      .map((part, i) => (i % 2 === 1 && /\d/.test(part) ? '[0-9a-f]+' : escape(part)))
      .join('');
  return new RegExp(`^${lines.map((l) => (l === '...' ? '(?:[^\\n]*\\n)*?' : `${line(l)}\\n`)).join('')}$`);
}

let dir: string;
let clone: string;
const env = newcomerEnv();

beforeAll(() => {
  dir = fs.mkdtempSync(path.join(os.tmpdir(), 'nsbox-readme-'));
  clone = path.join(dir, 'nsbox');
  cloneHead(clone);
});

afterAll(() => {
  if (dir) fs.rmSync(dir, { recursive: true, force: true });
});

describe("README.md's commands in a fresh clone", () => {
  it('the README has a set-up block and quick-start commands with output', () => {
    expect(setup.length).toBeGreaterThan(0);
    expect(quickStart.length).toBeGreaterThan(0);
    for (const { expected } of quickStart) expect(expected.length).toBeGreaterThan(0);
  });

  for (const command of setup) {
    if (command.replace(/#.*/, '').trim() === 'npm test') {
      // Running the whole suite from inside the suite would recurse: CI runs exactly this command
      // from a clean clone, so it is checked there.
      it(`set-up: ${command} (run by CI, .ci/run, from a clean clone)`, () => {
        expect(fs.readFileSync(path.join(REPO, '.ci/run'), 'utf8')).toMatch(/^npm test$/m);
      });
      continue;
    }
    it(`set-up: ${command}`, { timeout: 600_000 }, async () => {
      const result = await shell(command, clone, env);
      expect(result.status, result.output).toBe(0);
    });
  }

  for (const { command, expected } of quickStart) {
    it(`quick start: ${command}`, { timeout: 120_000 }, async () => {
      const result = await shell(command, clone, env);
      expect(result.status, result.output).toBe(0);
      expect(result.output).toMatch(outputPattern(expected));
    });
  }

  it('the pattern check is strict: the shown output with a changed word or a missing line does not match', () => {
    const [first] = quickStart;
    const shown = `${first.expected.join('\n')}\n`.replace(/\b([0-9a-f]{4,})\b/g, (id) => (/\d/.test(id) ? '4242ab' : id));
    expect(shown).toMatch(outputPattern(first.expected));
    expect(shown.replace(/pid/, 'pie')).not.toMatch(outputPattern(first.expected));
    expect(shown.split('\n').slice(1).join('\n')).not.toMatch(outputPattern(first.expected));
  });
});

/** GitHub's anchor for a heading: lower case, punctuation dropped (backticks, colons, dots, ...), spaces to hyphens. */
function anchor(heading: string): string {
  return heading
    .trim()
    .toLowerCase()
    .replace(/[^\p{L}\p{N}\p{M}\p{Pc} -]/gu, '')
    .replace(/ /g, '-');
}

/** A Markdown file's headings' anchors (outside code blocks), with GitHub's -1, -2 ... for repeats. */
function anchors(text: string): Set<string> {
  const found = new Set<string>();
  for (const [, heading] of text.replace(/^```[\s\S]*?^```/gm, '').matchAll(/^#{1,6} (.+)$/gm)) {
    const base = anchor(heading);
    let name = base;
    for (let n = 1; found.has(name); n++) name = `${base}-${n}`;
    found.add(name);
  }
  return found;
}

/** The relative link targets of a Markdown file (code blocks and inline code left out). */
function relativeLinks(text: string): string[] {
  const prose = text.replace(/^```[\s\S]*?^```/gm, '').replace(/`[^`\n]*`/g, '');
  return [...prose.matchAll(/\]\(([^)\s]+)\)/g)].map((m) => m[1]).filter((target) => !/^[a-z][a-z+.-]*:/i.test(target));
}

const DOCS = fs.readdirSync(path.join(REPO, 'docs')).filter((name) => name.endsWith('.md')).map((name) => `docs/${name}`);
const PACKAGE_READMES = fs.readdirSync(path.join(REPO, 'packages')).map((name) => `packages/${name}/README.md`).filter((file) => fs.existsSync(path.join(REPO, file)));

describe('the documentation: README.md, docs/*.md and the packages\' READMEs', () => {
  it('README.md links to every page of docs/', () => {
    expect(DOCS.length).toBeGreaterThan(0);
    const linked = new Set(relativeLinks(README).map((target) => target.replace(/#.*/, '')));
    expect(DOCS.filter((file) => !linked.has(file))).toEqual([]);
  });

  for (const file of ['README.md', ...DOCS, ...PACKAGE_READMES]) {
    it(`${file}: every relative link reaches an existing file and heading`, () => {
      const broken: string[] = [];
      for (const target of relativeLinks(fs.readFileSync(path.join(REPO, file), 'utf8'))) {
        const [where, fragment] = target.split('#', 2);
        const resolved = where === '' ? path.join(REPO, file) : path.resolve(path.dirname(path.join(REPO, file)), decodeURIComponent(where));
        if (!resolved.startsWith(`${REPO}${path.sep}`) || !fs.existsSync(resolved)) broken.push(`${target}: no such file`);
        else if (fragment !== undefined && !(resolved.endsWith('.md') && anchors(fs.readFileSync(resolved, 'utf8')).has(fragment))) broken.push(`${target}: no such heading`);
      }
      expect(broken).toEqual([]);
    });
  }

  it('the link check is strict: a missing file or heading is found', () => {
    expect(relativeLinks('[a](docs/x.md) [b](https://example.com) `[c](d.md)` [e](#f)')).toEqual(['docs/x.md', '#f']);
    expect(anchor('Set-up (a fresh Linux machine with Node 20.19+ and npm)')).toBe('set-up-a-fresh-linux-machine-with-node-2019-and-npm');
    expect(anchor('Looking inside: `nsbox ps`, `nsbox exec`, keep on failure')).toBe('looking-inside-nsbox-ps-nsbox-exec-keep-on-failure');
    expect(anchors('# A\n```\n# not a heading\n```\n## A\n')).toEqual(new Set(['a', 'a-1']));
  });
});
