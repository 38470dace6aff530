test('calls process.exit in the middle of a test', () => {
  process.exit(3);
});
