// Watch-mode soak: one Vitest instance reruns a file N times through vitest-pool-nsbox, then reports
// whether Vitest's main process grew in open fds, child processes or memory. Run by e2e/test.
import fs from 'node:fs';
import path from 'node:path';
import { createVitest } from 'vitest/node';

const reruns = Number(process.argv[2] ?? 200);
const config = path.resolve(import.meta.dirname, 'vitest.config.mjs');
const fds = () => fs.readdirSync('/proc/self/fd').length;
const children = () => fs.readdirSync('/proc/self/task').flatMap((t) => fs.readFileSync(`/proc/self/task/${t}/children`, 'utf8').trim().split(' ').filter(Boolean)).length;

const vitest = await createVitest('test', { config, watch: true, include: ['tests-shared/where-1.test.js'], reporters: [] });
await vitest.start();
const specs = await vitest.globTestSpecifications();
const failures = [];
/**
 * The last run's sandbox closes its sockets and ends a moment after the run is reported: waits until
 * fds and children are back to `settled` (a leak stays above it until the safety deadline), then samples.
 */
const sample = async (settled = { fds: Infinity, children: Infinity }) => {
  for (const deadline = Date.now() + 15_000; (fds() > settled.fds || children() > settled.children) && Date.now() < deadline; ) await new Promise((r) => setTimeout(r, 20));
  global.gc?.();
  return { fds: fds(), children: children(), rss: process.memoryUsage().rss };
};
for (let i = 0; i < 10; i++) await vitest.rerunTestSpecifications(specs);
const before = await sample();
for (let i = 0; i < reruns; i++) {
  const result = await vitest.rerunTestSpecifications(specs);
  const failed = result.testModules.filter((m) => !m.ok());
  if (failed.length) failures.push(i);
}
const after = await sample(before);
await vitest.close();
const closed = await sample({ fds: Infinity, children: 0 });
console.log(JSON.stringify({ reruns, failures, before, after, closed }));
process.exit(0);
