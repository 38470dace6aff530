test('SIGKILLs its own process', () => {
  process.kill(process.pid, 'SIGKILL');
});
