// Uses 40 MB, well under the limit: passes, and its peak memory is reported.
test('allocates 40 MB', () => {
  expect(Buffer.alloc(40 << 20, 1).length).toBe(40 << 20);
});
