// Allocates until the sandbox's memoryMax stops it: the kernel OOM-kills this file's process.
test('leaks', () => {
  const kept = [];
  for (let i = 0; i < 600; i++) kept.push(Buffer.alloc(1 << 20, 1));
  expect(kept.length).toBe(600);
});
