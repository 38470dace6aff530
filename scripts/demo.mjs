// The demo: the same questions asked on the host and inside an nsbox sandbox, side by side.
import { execFileSync } from 'node:child_process';
import { spawn } from 'nsbox';

const QUESTIONS = `
echo "hostname=$(hostname)"
echo "my pid=$$"
echo "processes visible=$(ls /proc | grep -c '^[0-9]')"
echo "entries in /tmp=$(ls -A /tmp | wc -l)"
echo "uid=$(id -u)"
echo "network interfaces=$(tail -n +3 /proc/net/dev | wc -l)"
echo "SysV message queues=$(ipcs -q 2>/dev/null | grep -c '^0x')"
`;

function parse(text) {
  return Object.fromEntries(text.trim().split('\n').map((line) => line.split('=')));
}

const host = parse(execFileSync('sh', ['-c', QUESTIONS], { encoding: 'utf8' }));
const child = spawn('sh', ['-c', QUESTIONS], { stdio: ['ignore', 'pipe', 'inherit'], network: 'loopback' });
let out = '';
child.stdout.on('data', (d) => (out += d));
await child.ready;
await child.exited;
const sandbox = parse(out);

const width = Math.max(...Object.keys(host).map((k) => k.length));
console.log(`${''.padEnd(width)}  ${'host'.padEnd(22)}  nsbox run --network loopback`);
for (const key of Object.keys(host)) console.log(`${key.padEnd(width)}  ${String(host[key]).padEnd(22)}  ${sandbox[key]}`);

// Then a real Vitest suite, every file in its own sandbox (e2e/suite through vitest-pool-nsbox).
import { spawnSync } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';

const project = path.resolve(import.meta.dirname, '../e2e/vitest4');
const results = fs.mkdtempSync(path.resolve(project, '../suite/.results-'));
console.log('\nA Vitest suite under vitest-pool-nsbox (e2e/suite), one sandbox per file:\n');
const vitest = spawnSync(process.execPath, [path.join(project, 'node_modules/vitest/vitest.mjs'), 'run'], {
  cwd: project,
  stdio: 'inherit',
  env: { ...process.env, NSBOX_E2E_RESULTS: results },
});
for (const name of ['a', 'b', 'c']) {
  const seen = JSON.parse(fs.readFileSync(path.join(results, `isolation-${name}.json`), 'utf8'));
  console.log(`isolation-${name}.test.js ran as pid ${seen.pid} on host '${seen.hostname}', saw ${seen.processes} processes, and held 127.0.0.1:45123 while the others did: ${seen.portSharedByAll}`);
}
fs.rmSync(results, { recursive: true, force: true });
process.exitCode = vitest.status ?? 1;
