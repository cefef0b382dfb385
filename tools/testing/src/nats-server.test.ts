import { connect as tcpConnect } from 'node:net';
import { afterEach, describe, expect, inject, it } from 'vitest';
import { resolveNatsServerBin, startNatsServer, type NatsServer } from './nats-server.js';

interface ServerInfo {
  port: number;
  host: string;
  max_payload: number;
  jetstream?: boolean;
}

/** Opens a plain TCP connection and returns the INFO the NATS server greets every client with. */
function readInfo(port: number): Promise<ServerInfo> {
  return new Promise((resolve, reject) => {
    const socket = tcpConnect({ host: '127.0.0.1', port });
    let text = '';
    socket.setEncoding('utf8');
    socket.on('data', (chunk: string) => {
      text += chunk;
      const end = text.indexOf('\r\n');
      if (end < 0) return;
      socket.destroy();
      const line = text.slice(0, end);
      if (!line.startsWith('INFO ')) return reject(new Error(`unexpected greeting: ${line}`));
      resolve(JSON.parse(line.slice(5)) as ServerInfo);
    });
    socket.on('error', reject);
  });
}

function isAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
}

describe('startNatsServer', () => {
  const servers: NatsServer[] = [];
  const start = async (...args: Parameters<typeof startNatsServer>): Promise<NatsServer> => {
    const server = await startNatsServer(...args);
    servers.push(server);
    return server;
  };
  afterEach(async () => {
    await Promise.all(servers.splice(0).map((s) => s.stop()));
  });

  it('starts on a kernel-chosen loopback port read from the log', async () => {
    const server = await start();
    expect(server.port).toBeGreaterThan(0);
    expect(server.url).toBe(`nats://127.0.0.1:${server.port}`);
    expect(isAlive(server.pid)).toBe(true);
    const info = await readInfo(server.port);
    expect(info.port).toBe(server.port);
    expect(info.host).toBe('127.0.0.1');
  });

  it('raises the payload limit so 1 MiB payloads plus headers fit, and can enable JetStream', async () => {
    const server = await start({ jetstream: true, maxPayloadBytes: 3 * 1024 * 1024 });
    const info = await readInfo(server.port);
    expect(info.max_payload).toBe(3 * 1024 * 1024);
    expect(info.jetstream).toBe(true);
    expect((await readInfo((await start()).port)).max_payload).toBe(8 * 1024 * 1024);
  });

  it('stop() ends the process and frees the port; a second stop() is harmless', async () => {
    const server = await start();
    const pid = server.pid;
    await server.stop();
    expect(isAlive(pid)).toBe(false);
    await expect(readInfo(server.port)).rejects.toThrow(/ECONNREFUSED/);
    await server.stop();
  });

  it('restart() comes back on the same port with a new process', async () => {
    const server = await start();
    const firstPid = server.pid;
    await server.restart();
    expect(server.pid).not.toBe(firstPid);
    expect(isAlive(firstPid)).toBe(false);
    expect((await readInfo(server.port)).port).toBe(server.port);
    await server.stop();
    await expect(server.restart()).rejects.toThrow(/was stopped/);
  });

  it('listens on a given port', async () => {
    const probe = await start();
    const port = probe.port;
    await probe.stop();
    const server = await start({ port });
    expect(server.port).toBe(port);
    expect((await readInfo(port)).port).toBe(port);
  });

  it('fails with the server log when it cannot start (port in use)', async () => {
    const first = await start();
    await expect(startNatsServer({ port: first.port })).rejects.toThrow(
      /nats-server .* failed to start: .*(address already in use|listen)/is,
    );
  });

  it('says how to install nats-server when the binary is missing', async () => {
    await expect(startNatsServer({ bin: '/nonexistent/nats-server' })).rejects.toThrow(
      /\/nonexistent\/nats-server.*apt-get install nats-server.*NATS_SERVER_BIN/,
    );
    const saved = process.env['NATS_SERVER_BIN'];
    process.env['NATS_SERVER_BIN'] = '/nonexistent/from-env';
    try {
      expect(() => resolveNatsServerBin()).toThrow(/\/nonexistent\/from-env.*apt-get install nats-server/);
    } finally {
      if (saved === undefined) delete process.env['NATS_SERVER_BIN'];
      else process.env['NATS_SERVER_BIN'] = saved;
    }
  });
});

describe('nats-global-setup', () => {
  it('provides the URL of a running server to every test file', async () => {
    const url = inject('natsUrl');
    const match = /^nats:\/\/127\.0\.0\.1:(\d+)$/.exec(url);
    expect(match).not.toBeNull();
    const info = await readInfo(Number(match?.[1]));
    expect(info.jetstream).toBe(true);
  });
});
