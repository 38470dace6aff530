// A custom matcher whose failure message is built with Jest's matcher utils (chalk underneath), as
// matcher libraries do, snapshotted in color under --color=true. Jest's matcher utils are loaded by the
// worker before the file runs: in zygote mode they are evaluated in the zygote, which must see the
// worker's FORCE_COLOR when it loads them.
expect.extend({
  toBeDivisibleBy(received, divisor) {
    const pass = received % divisor === 0;
    const message = () =>
      `${this.utils.matcherHint('toBeDivisibleBy', undefined, 'divisor')}\n\n` +
      `Expected: ${this.utils.printExpected(divisor)}\nReceived: ${this.utils.printReceived(received)}`;
    return { pass, message };
  },
});

test("a custom matcher's failure message keeps its colors", async () => {
  expect(() => expect(7).toBeDivisibleBy(2)).toThrowErrorMatchingSnapshot();
  await require('../lib/observe.cjs').record('matcher');
});
