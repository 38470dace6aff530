// Prints the reliability summary of a run: the tests tagged [fault], [escape], [host] and [input],
// how many were tried and how many held; leftovers come from the host check (test/host-unchanged.ts).
import type { Reporter, TestModule } from 'vitest/node';

const KINDS = [
  ['fault', 'faults tried / survived'],
  ['escape', 'escapes tried / blocked'],
  ['host', 'blocked hosts simulated / named correctly'],
  ['input', 'bad inputs tried / rejected cleanly'],
] as const;

export default class ReliabilityReporter implements Reporter {
  onTestRunEnd(testModules: ReadonlyArray<TestModule>): void {
    const counts = new Map<string, { tried: number; held: number }>(KINDS.map(([kind]) => [kind, { tried: 0, held: 0 }]));
    for (const module of testModules) {
      for (const test of module.children.allTests()) {
        const kind = /\[(fault|escape|host|input)\]/.exec(test.name)?.[1];
        if (!kind) continue;
        const count = counts.get(kind)!;
        count.tried++;
        if (test.result().state === 'passed') count.held++;
      }
    }
    const parts = KINDS.map(([kind, label]) => `${label}: ${counts.get(kind)!.tried} / ${counts.get(kind)!.held}`);
    console.log(`\nreliability: ${parts.join(', ')}`);
  }
}
