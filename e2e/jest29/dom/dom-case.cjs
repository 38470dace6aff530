// The case every jsdom file of this project runs (the files differ only in their number): builds a
// large document, queries it, drops it; then keeps documents for a while, as a suite's fixtures are,
// so the old generation grows past V8's limit and full GCs follow in the forked file, single-threaded.
const fs = require('node:fs');
const os = require('node:os');
const path = require('node:path');

// Written where the outer test reads it: a directory under this project, whose root every sandbox sees
// (a module outside the root, such as ../../suite/lib, would be hidden when the checkout lies in /tmp).
function record(name, facts) {
  fs.writeFileSync(path.join(process.env.NSBOX_E2E_RESULTS, `${name}.json`), JSON.stringify(facts));
}

module.exports = function domCase(n) {
  test(`a large document is built, queried and collected (file ${n})`, () => {
    for (let round = 0; round < 4; round++) {
      document.body.innerHTML = Array.from({ length: 1500 }, (_, i) => `<div class="row" data-i="${i}"><span>${i}</span><button>go</button></div>`).join('');
      expect(document.querySelectorAll('.row button')).toHaveLength(1500);
      document.body.innerHTML = '';
    }
    const kept = [];
    for (let i = 0; i < 8; i++) {
      const doc = document.implementation.createHTMLDocument(`kept-${i}`);
      doc.body.innerHTML = Array.from({ length: 1500 }, (_, j) => `<p id="p${j}">${'text '.repeat(20)}</p>`).join('');
      kept.push(doc, Array.from({ length: 60000 }, (_, j) => ({ j, label: `label-${i}-${j}` })));
    }
    expect(kept).toHaveLength(16);
    expect(typeof window.HTMLElement).toBe('function');
    if (n === 1) record('dom-where', { hostname: os.hostname() });
  });
};
