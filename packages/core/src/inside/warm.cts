// Code a sandbox's file process runs before any user code (its stdout, its IPC channel) is compiled
// here, once, in the zygote: every fork inherits the bytecode. Without it each sandbox compiles it
// again, which with --single-threaded (no background compilation) costs about 15 ms per sandbox.
import net = require('node:net');
import { spawn } from 'node:child_process';
import { AF_UNIX, SOCK_CLOEXEC, SOCK_STREAM, check, sys } from './ffi.cjs';

/** A stream like the one process.stdout becomes on a socket: created, made blocking, written, closed. */
async function warmStdio(): Promise<void> {
  const fds = Buffer.alloc(8);
  check(sys().socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, fds), 'zygote', 'socketpair(AF_UNIX)');
  const stream = new net.Socket({ fd: fds.readInt32LE(0), readable: false, writable: true });
  (stream as unknown as { _handle: { setBlocking(on: boolean): number } })._handle.setBlocking(true);
  stream.write('warm\n');
  await new Promise<void>((resolve) => stream.once('close', () => resolve()).destroy());
  sys().close(fds.readInt32LE(4));
}

/** Node's IPC channel (the same setupChannel() serves both ends), through one short-lived child. */
async function warmIpc(): Promise<void> {
  const child = spawn(process.execPath, ['-e', 'process.send({ warm: true }, () => process.disconnect())'], { stdio: ['ignore', 'ignore', 'ignore', 'ipc'], env: {} });
  const replied = new Promise<void>((resolve) => child.once('message', () => resolve()));
  const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
  child.send({ warm: true });
  await Promise.race([Promise.all([replied, exited]), new Promise((resolve) => setTimeout(resolve, 5000).unref())]);
  child.kill('SIGKILL');
}

export async function warmUp(): Promise<void> {
  require('node:crypto'); // for reseedRandomness() in every sandbox
  await warmStdio();
  await warmIpc();
}
