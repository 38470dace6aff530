import { spawnSync } from 'node:child_process';
import { record } from '../lib/facts.js';

test('a file that leaves a daemon behind still passes; nsbox reports and kills the daemon', () => {
  spawnSync('sh', ['-c', 'setsid sh -c "sleep 3201 &"'], { stdio: 'ignore' });
  record('daemon', { started: true });
});
