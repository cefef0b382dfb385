import { ErrorCode } from '@plex86/proto';
import { startNatsServer, type NatsServer } from '@plex86/testing';
import { afterEach, describe, expect, it, vi } from 'vitest';
import type { Bus } from './bus.js';
import { BusError } from './errors.js';
import type { BusLogger } from './logger.js';
import { createNatsBus } from './nats-bus.js';

describe('NATS bus across a server outage', () => {
  const cleanups: (() => Promise<void>)[] = [];
  afterEach(async () => {
    for (const cleanup of cleanups.splice(0).reverse()) await cleanup();
  });

  async function server(port?: number): Promise<NatsServer> {
    const s = await startNatsServer({ port });
    cleanups.push(() => s.stop());
    return s;
  }

  async function bus(url: string, logger: BusLogger): Promise<Bus> {
    const b = await createNatsBus({ servers: url, reconnectWaitMs: 100, requestTimeoutMs: 3000, logger });
    cleanups.push(() => b.close());
    await b.addService({ name: 'outage-echo', version: '1.0.0' }, [
      { name: 'echo', subject: 'outage.echo', handler: (r) => ({ data: r.data }) },
    ]);
    b.subscribe('outage.silent', () => undefined);
    return b;
  }

  async function expectDown(promise: Promise<unknown>): Promise<void> {
    const err = await promise.then(
      () => expect.fail('expected the request to fail while the server is down'),
      (e: unknown) => e,
    );
    expect(err).toBeInstanceOf(BusError);
    expect((err as BusError).code).toBe(ErrorCode.ERROR_CODE_UNAVAILABLE);
    expect((err as BusError).message).toMatch(/NATS connection to .* is down/);
  }

  async function expectEchoEventually(b: Bus): Promise<void> {
    await vi.waitFor(
      async () => {
        const reply = await b.request('outage.echo', Uint8Array.of(4, 2), { timeoutMs: 500 });
        expect([...reply.data]).toEqual([4, 2]);
      },
      { timeout: 10_000, interval: 100 },
    );
  }

  it('fails fast with UNAVAILABLE while the server is down and recovers once it is back on the same port', async () => {
    const lines: string[] = [];
    const logger: BusLogger = { warn: (m) => lines.push(m), error: (m) => lines.push(m) };
    const first = await server();
    const b = await bus(first.url, logger);
    expect([...(await b.request('outage.echo', Uint8Array.of(1))).data]).toEqual([1]);

    // A request in flight when the server goes away fails at once instead of waiting out its 30 s timeout.
    const inFlight = expectDown(b.request('outage.silent', Uint8Array.of(2), { timeoutMs: 30_000 }));
    await b.flush();
    await first.stop();
    await inFlight;
    await expectDown(b.request('outage.echo', Uint8Array.of(3), { timeoutMs: 30_000 }));
    await expectDown(b.flush());
    expect(lines.some((l) => /NATS connection to .* lost; reconnecting/.test(l))).toBe(true);

    await server(first.port);
    await expectEchoEventually(b);
    expect(lines.some((l) => /restored/.test(l))).toBe(true);
  });

  it('picks up a restarted server without the caller doing anything', async () => {
    const logger: BusLogger = { warn: () => undefined, error: () => undefined };
    const s = await server();
    const b = await bus(s.url, logger);
    await expectEchoEventually(b);
    const pid = s.pid;
    await s.restart();
    expect(s.pid).not.toBe(pid);
    await expectEchoEventually(b);
    const found = await b.discover();
    expect(found.filter((svc) => svc.name === 'outage-echo')).toHaveLength(1);
  });
});
