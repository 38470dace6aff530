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
