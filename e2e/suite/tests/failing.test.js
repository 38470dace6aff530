// Fails on purpose, only when the outer test asks for it: its output must point at this file.
test.runIf(process.env.NSBOX_E2E_FAIL === '1')('a failure keeps its code frame and stack', () => {
  const answer = 41;
  expect(answer).toBe(42);
});
