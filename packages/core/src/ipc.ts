// The host's end of a Node IPC channel that Node did not create: a zygote's sandbox connects to the
// host's socket, and its file process makes that connection its process.send()/'message' channel
// (child_process._forkChild). Node's framing, as in lib/internal/child_process/serialization.js:
// 'json' is one JSON text per line; 'advanced' is a v8-serialized value (host objects tagged) after a
// big-endian uint32 length. Internal messages (`cmd: 'NODE_...'`) are not the user's; handles cannot
// be sent over this channel.
import { EventEmitter } from 'node:events';
import { StringDecoder } from 'node:string_decoder';
import v8 from 'node:v8';
import type { Socket } from 'node:net';

const kArrayBufferViewTag = 0;
const kNotArrayBufferViewTag = 1;

// @types/node does not declare the host-object hooks that v8.DefaultSerializer implements.
type HostHooks = { _writeHostObject(object: object): void; _readHostObject(): unknown };
const baseWrite = (v8.DefaultSerializer.prototype as unknown as HostHooks)._writeHostObject;
const baseRead = (v8.DefaultDeserializer.prototype as unknown as HostHooks)._readHostObject;

class ChildProcessSerializer extends v8.DefaultSerializer {
  _writeHostObject(object: object): void {
    if (ArrayBuffer.isView(object)) {
      this.writeUint32(kArrayBufferViewTag);
      return baseWrite.call(this, object);
    }
    this.writeUint32(kNotArrayBufferViewTag);
    this.writeValue({ ...object });
  }
}

class ChildProcessDeserializer extends v8.DefaultDeserializer {
  _readHostObject(): unknown {
    const tag = this.readUint32();
    if (tag === kArrayBufferViewTag) return baseRead.call(this);
    return this.readValue();
  }
}

function isInternal(message: unknown): boolean {
  const cmd = (message as { cmd?: unknown } | null)?.cmd;
  return typeof cmd === 'string' && cmd.startsWith('NODE_');
}

export type Serialization = 'json' | 'advanced';

/** Emits 'message' and 'disconnect'; send() before the connection exists queues. */
export class IpcPeer extends EventEmitter {
  connected = true;
  private socket: Socket | undefined;
  private queue: [Buffer | string, ((error?: Error | null) => void) | undefined][] = [];
  private text = '';
  private decoder = new StringDecoder('utf8');
  private pending: Buffer[] = [];
  private pendingSize = 0;

  constructor(private readonly serialization: Serialization) {
    super();
  }

  attach(socket: Socket): void {
    this.socket = socket;
    socket.on('data', (chunk: Buffer) => this.receive(chunk));
    socket.on('error', () => {});
    socket.on('close', () => this.closed());
    for (const [data, callback] of this.queue.splice(0)) socket.write(data, callback);
    if (!this.connected) socket.end();
  }

  private receive(chunk: Buffer): void {
    for (const message of this.serialization === 'json' ? this.parseJson(chunk) : this.parseAdvanced(chunk)) {
      if (!isInternal(message)) this.emit('message', message);
    }
  }

  private *parseJson(chunk: Buffer): Generator<unknown> {
    const lines = (this.text + this.decoder.write(chunk)).split('\n');
    this.text = lines.pop()!;
    for (const line of lines) yield JSON.parse(line);
  }

  private *parseAdvanced(chunk: Buffer): Generator<unknown> {
    this.pending.push(chunk);
    this.pendingSize += chunk.length;
    let buffer = Buffer.concat(this.pending, this.pendingSize);
    while (buffer.length >= 4) {
      const size = buffer.readUInt32BE(0) + 4;
      if (buffer.length < size) break;
      const deserializer = new ChildProcessDeserializer(buffer.subarray(4, size));
      buffer = buffer.subarray(size);
      deserializer.readHeader();
      yield deserializer.readValue();
    }
    this.pending = buffer.length ? [buffer] : [];
    this.pendingSize = buffer.length;
  }

  private encode(message: unknown): Buffer | string {
    if (this.serialization === 'json') return `${JSON.stringify(message)}\n`;
    const serializer = new ChildProcessSerializer();
    serializer.writeHeader();
    serializer.writeValue(message);
    const body = serializer.releaseBuffer();
    const size = Buffer.alloc(4);
    size.writeUInt32BE(body.length);
    return Buffer.concat([size, body]);
  }

  send(message: unknown, callback?: (error?: Error | null) => void): boolean {
    if (!this.connected) {
      const error = Object.assign(new Error('Channel closed'), { code: 'ERR_IPC_CHANNEL_CLOSED' });
      if (callback) process.nextTick(callback, error);
      else process.nextTick(() => this.emit('error', error));
      return false;
    }
    const data = this.encode(message);
    if (this.socket) return this.socket.write(data, callback);
    this.queue.push([data, callback]);
    return true;
  }

  disconnect(): void {
    if (!this.connected) return;
    this.connected = false;
    this.socket?.end();
    this.emit('disconnect');
  }

  private closed(): void {
    if (!this.connected) return;
    this.connected = false;
    this.emit('disconnect');
  }

  ref(): void {
    this.socket?.ref();
  }

  unref(): void {
    this.socket?.unref();
  }
}
