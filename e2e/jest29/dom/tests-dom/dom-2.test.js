// Builds a large document, queries it, drops it, and forces the full GCs a jsdom suite goes through.
const { record } = require('../../../suite/lib/facts.cjs');

test('a large document is built, queried and collected (file 2)', () => {
  for (let round = 0; round < 4; round++) {
    document.body.innerHTML = Array.from({ length: 1500 }, (_, i) => `<div class="row" data-i="${i}"><span>${i}</span><button>go</button></div>`).join('');
    expect(document.querySelectorAll('.row button')).toHaveLength(1500);
    document.body.innerHTML = '';
  }
  // Documents kept for a while, as a suite's fixtures are: the old generation grows past V8's limit
  // and full GCs follow in the forked file, single-threaded.
  const kept = [];
  for (let i = 0; i < 8; i++) {
    const doc = document.implementation.createHTMLDocument(`kept-${i}`);
    doc.body.innerHTML = Array.from({ length: 1500 }, (_, j) => `<p id="p${j}">${'text '.repeat(20)}</p>`).join('');
    kept.push(doc, Array.from({ length: 60000 }, (_, j) => ({ j, label: `label-${i}-${j}` })));
  }
  expect(kept).toHaveLength(16);
  expect(typeof window.HTMLElement).toBe('function');
  if (2 === 1) record('dom-where', { hostname: require('node:os').hostname() });
});
