import { createWriteStream, type WriteStream } from 'node:fs';
import { createServer, type AddressInfo, type Server, type Socket } from 'node:net';
import { ESCAPE_HELP, EscapeFilter } from './escape.js';

/** Where the user sits: takes the guest's output, gives what the user types. */
export interface ConsoleEndpoint {
  /** For log lines, e.g. `stdio` or `tcp:127.0.0.1:4444`. */
  readonly description: string;
  /** Begins taking input: typed bytes go to `input`; `quit` when the user asks to end the session. */
  start(input: (bytes: Uint8Array) => void, quit: () => void): void;
  /** Bytes the guest wrote. */
  write(bytes: Uint8Array): void;
  /** Releases the terminal, file or socket; pending output is written first. */
  close(): Promise<void>;
}

/** The streams of a terminal session: process.stdin/stdout by default. */
export interface StdioStreams {
  readonly stdin: NodeJS.ReadableStream & { isTTY?: boolean; setRawMode?: (raw: boolean) => unknown };
  readonly stdout: NodeJS.WritableStream;
}

/**
 * The terminal: output to stdout, keystrokes to the guest. On a TTY the terminal is put in raw mode
 * (so Ctrl-C, Ctrl-Z and line editing reach the guest) and restored on close; Ctrl-A x quits and
 * Ctrl-A Ctrl-A sends a Ctrl-A, as in QEMU. End of input only ends the input.
 */
export function stdioEndpoint(
  streams: StdioStreams = { stdin: process.stdin, stdout: process.stdout },
): ConsoleEndpoint {
  const { stdin, stdout } = streams;
  let raw = false;
  let onData: ((chunk: Buffer | string) => void) | null = null;
  return {
    description: 'stdio',
    start(input, quit) {
      const escape = new EscapeFilter({ quit, help: () => stdout.write(ESCAPE_HELP) });
      if (stdin.isTTY === true && typeof stdin.setRawMode === 'function') {
        stdin.setRawMode(true);
        raw = true;
      }
      onData = (chunk) => {
        const bytes = typeof chunk === 'string' ? Buffer.from(chunk) : chunk;
        const forGuest = escape.filter(bytes);
        if (forGuest.length > 0) input(forGuest);
      };
      stdin.on('data', onData);
      stdin.resume();
    },
    write(bytes) {
      stdout.write(bytes);
    },
    close() {
      if (onData !== null) stdin.removeListener('data', onData);
      onData = null;
      stdin.pause();
      if (raw) stdin.setRawMode?.(false);
      raw = false;
      return Promise.resolve();
    },
  };
}

/** Output appended to a file; no input. A write error is logged once and later output dropped. */
export function fileEndpoint(path: string, log: (line: string) => void): ConsoleEndpoint {
  let stream: WriteStream | null = null;
  let failed: Error | null = null;
  const open = (): WriteStream => {
    if (stream === null) {
      stream = createWriteStream(path, { flags: 'a' });
      stream.on('error', (e) => {
        if (failed === null) log(`console output file ${path}: ${e.message}; output is dropped from now on`);
        failed = e;
      });
    }
    return stream;
  };
  return {
    description: `file:${path}`,
    start() {
      open();
    },
    write(bytes) {
      if (failed === null) open().write(bytes);
    },
    close() {
      const s = stream;
      stream = null;
      if (s === null) return Promise.resolve();
      return new Promise<void>((resolve) => s.end(() => resolve()));
    },
  };
}

/** Hosts a TCP console listens on: loopback only. */
const LOOPBACK = new Set(['127.0.0.1', 'localhost', '::1']);
/** Output a client has not read yet, beyond which it is disconnected rather than buffered forever. */
export const MAX_CLIENT_BACKLOG = 4 * 1024 * 1024;

export interface TcpEndpoint extends ConsoleEndpoint {
  /** Resolves with the address once listening (the port is chosen when 0 was asked for). */
  readonly listening: Promise<AddressInfo>;
  readonly clientCount: number;
}

/** `PORT` or `HOST:PORT` (host defaults to 127.0.0.1; loopback only). */
export function parseTcpAddress(text: string): { host: string; port: number } {
  const m = /^(?:(\[[^\]]+\]|[^:]+):)?(\d+)$/.exec(text);
  if (m === null) throw new Error(`tcp address ${JSON.stringify(text)}: want PORT or HOST:PORT`);
  const host = (m[1] ?? '127.0.0.1').replace(/^\[|\]$/g, '');
  const port = Number(m[2]);
  if (port > 65535) throw new Error(`tcp port ${port} is out of range`);
  if (!LOOPBACK.has(host)) throw new Error(`tcp console listens on loopback only (127.0.0.1), not ${host}`);
  return { host, port };
}

/**
 * A TCP server on loopback: every connected client gets the guest's output, and what any client
 * sends goes to the guest (a raw byte stream, as QEMU's `-serial tcp::PORT,server`). A client that
 * stops reading is disconnected once its unsent output passes MAX_CLIENT_BACKLOG.
 */
export function tcpEndpoint(address: { host: string; port: number }, log: (line: string) => void): TcpEndpoint {
  const clients = new Set<Socket>();
  let input: ((bytes: Uint8Array) => void) | null = null;
  const server: Server = createServer((socket) => {
    clients.add(socket);
    socket.setNoDelay(true);
    socket.on('data', (data: Buffer) => input?.(data));
    socket.on('error', () => socket.destroy());
    socket.on('close', () => clients.delete(socket));
  });
  const listening = new Promise<AddressInfo>((resolve, reject) => {
    server.once('error', reject);
    server.listen(address.port, address.host, () => {
      server.removeListener('error', reject);
      resolve(server.address() as AddressInfo);
    });
  });
  // A failure to listen surfaces through `listening`; this keeps it from also being unhandled.
  listening.catch(() => undefined);
  return {
    description: `tcp:${address.host}:${address.port}`,
    listening,
    get clientCount() {
      return clients.size;
    },
    start(typed) {
      input = typed;
    },
    write(bytes) {
      for (const socket of clients) {
        if (socket.writableLength > MAX_CLIENT_BACKLOG) {
          log(`console client ${socket.remoteAddress}:${socket.remotePort} does not read its output; disconnected`);
          socket.destroy();
          clients.delete(socket);
          continue;
        }
        socket.write(bytes);
      }
    },
    close() {
      input = null;
      for (const socket of clients) socket.end();
      return new Promise<void>((resolve) => {
        server.close(() => resolve());
        for (const socket of clients) socket.destroy();
      });
    },
  };
}
