test('runs on after other files crashed', () => {
  expect(1 + 1).toBe(2);
});
