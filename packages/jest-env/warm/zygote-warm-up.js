// Run twice in the Jest zygote before any test file is forked, so that Jest's own per-file code
// (runtime, environment, test framework, expect, the transformers) is already compiled in every
// forked file. It touches nothing outside its own test.
describe('nsbox zygote warm-up', () => {
  test('matchers', () => {
    expect({ a: [1, 2, { b: 'c' }] }).toEqual({ a: [1, 2, { b: 'c' }] });
    expect([1, 2, 3]).toContain(2);
    expect('warm').toMatch(/ar/);
    expect(() => {
      throw new Error('expected');
    }).toThrow('expected');
  });
  test('async', async () => {
    await expect(Promise.resolve(1)).resolves.toBe(1);
  });
});
