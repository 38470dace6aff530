// The case of the Vitest DOM files (tests-dom/, environment jsdom or happy-dom, NSBOX_E2E_DOM names
// which): builds, queries and empties documents, dispatches an event, and records where it ran.
const os = require('node:os');
const { record } = require('./facts.cjs');

function domCase(n) {
  test(`a document is built, queried and emptied (file ${n})`, () => {
    for (let round = 0; round < 3; round++) {
      document.body.innerHTML = Array.from({ length: 1000 }, (_, i) => `<div class="row" data-i="${i}"><span>${i}</span><button>go</button></div>`).join('');
      expect(document.querySelectorAll('.row button')).toHaveLength(1000);
      expect(document.querySelector('[data-i="999"] span').textContent).toBe('999');
      document.body.innerHTML = '';
    }
    const button = document.createElement('button');
    let clicked = 0;
    button.addEventListener('click', () => clicked++);
    button.click();
    expect(clicked).toBe(1);
    record(`dom-${n}-${process.env.NSBOX_E2E_DOM}`, { hostname: os.hostname(), userAgent: navigator.userAgent });
  });
}

module.exports = { domCase };
