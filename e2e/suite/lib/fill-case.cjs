// Fills the sandbox's /tmp until ENOSPC (its tmpfs is small in this test), then passes: the adapter
// must say which mount filled, its size and the option that raises it.
const fs = require('node:fs');

function fillCase() {
  test('a file that fills its /tmp', () => {
    const chunk = Buffer.alloc(64 * 1024);
    const fd = fs.openSync('/tmp/fill', 'w');
    let full = false;
    try {
      for (let i = 0; i < 100_000 && !full; i++) fs.writeSync(fd, chunk);
    } catch (error) {
      full = error.code === 'ENOSPC';
    } finally {
      fs.closeSync(fd);
    }
    expect(full).toBe(true);
  });
}

module.exports = { fillCase };
