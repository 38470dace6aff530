test('the node project runs without a DOM (file 1)', () => {
  expect(typeof document).toBe('undefined');
});
