import { record, sandboxView, holdSharedPort } from '../lib/facts.js';

test('file b sees only its own sandbox', async () => {
  const view = sandboxView('b');
  const portSharedByAll = await holdSharedPort('b', ['a', 'b', 'c']);
  record('isolation-b', { ...view, portSharedByAll });
  expect(view.pid).toBe(2);
  expect(view.tmpAfter).toContain('b-was-here');
});
