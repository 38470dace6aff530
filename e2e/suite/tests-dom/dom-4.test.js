// A DOM file for Vitest's jsdom and happy-dom environments: builds, queries, keeps and drops documents.
import os from 'node:os';
import { record } from '../lib/facts.cjs';

test('a document is built, queried and emptied (file 4)', () => {
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
  record(`dom-4-${process.env.NSBOX_E2E_DOM}`, { hostname: os.hostname(), userAgent: navigator.userAgent });
});
