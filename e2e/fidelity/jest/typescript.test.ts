// A TypeScript test through ts-jest.
import { clamp } from '../lib/math.cjs';

interface Range {
  low: number;
  high: number;
}

test('ts-jest compiles and runs a TypeScript file', async () => {
  const range: Range = { low: 0, high: 3 };
  expect(clamp(5, range.low, range.high)).toBe(3);
  await require('../lib/observe.cjs').record('typescript');
});
