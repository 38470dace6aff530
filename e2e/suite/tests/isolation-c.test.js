import { record, sandboxView, holdSharedPort } from '../lib/facts.js';

test('file c sees only its own sandbox', async () => {
  const view = sandboxView('c');
  const portSharedByAll = await holdSharedPort('c', ['a', 'b', 'c']);
  record('isolation-c', { ...view, portSharedByAll });
  expect(view.pid).toBe(2);
  expect(view.tmpAfter).toContain('c-was-here');
});
