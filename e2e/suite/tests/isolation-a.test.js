import { record, sandboxView, holdSharedPort } from '../lib/facts.js';

test('file a sees only its own sandbox', async () => {
  const view = sandboxView('a');
  const portSharedByAll = await holdSharedPort('a', ['a', 'b', 'c']);
  record('isolation-a', { ...view, portSharedByAll });
  expect(view.pid).toBe(2);
  expect(view.tmpAfter).toContain('a-was-here');
});
