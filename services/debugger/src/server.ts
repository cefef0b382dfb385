/**
 * The TCP side: one GDB client at a time on a listening socket. A second client is answered with an
 * error message naming the reason and closed, and the attached one keeps working.
 */

import { createServer, type Server, type Socket } from 'node:net';
import type { DebugTarget } from './target.js';
import { refuseClient, RspSession } from './rsp/session.js';

export interface ListenAddress {
  readonly host: string;
  /** 0 picks a free port. */
  readonly port: number;
}

export interface DebuggerOptions {
  /** `tcp:HOST:PORT`, `HOST:PORT` or an address. */
  readonly listen: string | ListenAddress;
  readonly target: DebugTarget;
  readonly maxPacketSize?: number;
  /** One line per connection and per protocol or target error. */
  readonly log?: (line: string) => void;
}

export interface DebuggerServer {
  /** Where it listens (with the port chosen when 0 was asked for). */
  readonly address: ListenAddress;
  /** True while a client is attached. */
  readonly attached: boolean;
  /** Stops listening and drops the client (which detaches the target). */
  close(): Promise<void>;
}

export class ListenAddressError extends Error {
  override readonly name = 'ListenAddressError';
}

/** `tcp:127.0.0.1:1234`, `127.0.0.1:1234`, `[::1]:1234` or `:1234` (loopback). */
export function parseListenAddress(text: string): ListenAddress {
  const rest = text.startsWith('tcp:') ? text.slice(4) : text;
  const colon = rest.lastIndexOf(':');
  if (colon < 0) throw new ListenAddressError(`listen address "${text}" must be tcp:HOST:PORT`);
  let host = rest.slice(0, colon);
  const portText = rest.slice(colon + 1);
  if (host.startsWith('[') && host.endsWith(']')) host = host.slice(1, -1);
  if (host === '') host = '127.0.0.1';
  const port = /^[0-9]{1,5}$/.test(portText) ? Number(portText) : NaN;
  if (!(port >= 0 && port <= 65535)) throw new ListenAddressError(`listen address "${text}" has a bad port`);
  return { host, port };
}

export async function startDebugger(options: DebuggerOptions): Promise<DebuggerServer> {
  const listen = typeof options.listen === 'string' ? parseListenAddress(options.listen) : options.listen;
  const log = options.log ?? (() => undefined);
  let active: { socket: Socket; session: RspSession } | undefined;
  const sockets = new Set<Socket>();

  const server: Server = createServer((socket) => {
    sockets.add(socket);
    socket.setNoDelay(true);
    const peer = `${socket.remoteAddress ?? '?'}:${socket.remotePort ?? '?'}`;
    const connection = {
      write: (data: Uint8Array) => {
        if (!socket.destroyed) socket.write(data);
      },
      close: () => socket.end(),
    };
    socket.on('error', (err) => log(`gdb client ${peer}: ${err.message}`));
    if (active !== undefined) {
      log(`gdb client ${peer} refused: another debugger is attached`);
      const receive = refuseClient(connection, 'another debugger is attached to this VM');
      socket.on('data', receive);
      socket.on('close', () => sockets.delete(socket));
      return;
    }
    log(`gdb client ${peer} attached`);
    const session = new RspSession(options.target, connection, {
      maxPacketSize: options.maxPacketSize,
      log: (line) => log(`gdb client ${peer}: ${line}`),
    });
    const mine = { socket, session };
    active = mine;
    socket.on('data', (chunk: Buffer) => session.receive(chunk));
    socket.on('close', () => {
      sockets.delete(socket);
      if (active === mine) active = undefined;
      log(`gdb client ${peer} left`);
      void session.close();
    });
  });

  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(listen.port, listen.host, () => {
      server.off('error', reject);
      resolve();
    });
  });
  server.on('error', (err) => log(`debugger server: ${err.message}`));
  const bound = server.address();
  const address: ListenAddress =
    bound !== null && typeof bound === 'object' ? { host: bound.address, port: bound.port } : listen;

  return {
    address,
    get attached() {
      return active !== undefined;
    },
    async close() {
      const closing = active?.session;
      for (const socket of sockets) socket.destroy();
      await new Promise<void>((resolve) => server.close(() => resolve()));
      await closing?.close();
    },
  };
}
