// The README's commands, run verbatim in a fresh clone of what is committed, with only Node and npm:
// the set-up block and every `$ ` line of the quick start, taken from README.md itself so that the
// README cannot drift from the code.
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
