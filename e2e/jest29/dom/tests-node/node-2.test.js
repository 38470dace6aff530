test('the node project runs without a DOM (file 2)', () => {
  expect(typeof document).toBe('undefined');
});
