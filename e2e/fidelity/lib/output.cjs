// 50,000 lines of 100 bytes with process.stdout.write, then an end marker.
const LINES = 50_000;

function writeLines(name) {
  const pad = 'x'.repeat(100 - `output-${name} 00000 \n`.length);
  for (let i = 0; i < LINES; i++) process.stdout.write(`output-${name} ${String(i).padStart(5, '0')} ${pad}\n`);
  process.stdout.write(`output-${name} END\n`);
}

module.exports = { writeLines, LINES };
