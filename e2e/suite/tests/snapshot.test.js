import { add } from '../lib/math.js';

test('snapshots and coverage work from inside the sandbox', () => {
  expect({ sum: add(2, 3), where: 'sandbox' }).toMatchSnapshot();
});
